/// Splits Python 3.12 source (UTF-8 bytes) into tokens, as CPython's tokenizer does.
///
/// Indentation becomes INDENT/DEDENT, newlines inside brackets are dropped, and f-strings are
/// split PEP 701 style into FSTRING_START, FSTRING_MIDDLE, the replacement fields' own tokens,
/// and FSTRING_END. Errors become diagnostics; the lexer always reaches the end of the input.
struct Lexer {
    /// The most brackets open at once (CPython's MAXLEVEL); past it lexing stops.
    static let maxBracketDepth = 200
    /// The most indentation levels (CPython's MAXINDENT).
    static let maxIndentDepth = 100

    private enum Mode {
        /// Literal text of an f-string.
        case fstring(quote: UInt8, triple: Bool, raw: Bool)
        /// The expression of a replacement field opened when `bracketDepth` brackets were open.
        case field(bracketDepth: Int)
        /// Literal text of a replacement field's format spec.
        case formatSpec
    }

    private let bytes: [UInt8]
    private let lines: LineTable
    private var pos = 0
    private(set) var tokens: [Token] = []
    private(set) var diagnostics: [Diagnostic] = []
    private var brackets: [(byte: UInt8, offset: Int)] = []
    private var indents: [Int] = [0]
    private var altIndents: [Int] = [0]
    private var atLineStart = true
    private var lineHasTokens = false
    private var modes: [Mode] = []
    private var stopped = false

    init(bytes: [UInt8], lines: LineTable) {
        self.bytes = bytes
        self.lines = lines
        tokens.reserveCapacity(bytes.count / 4)
    }

    /// Tokenises the whole input and returns the tokens, ending with ENDMARKER.
    static func tokenize(_ bytes: [UInt8], lines: LineTable) -> (tokens: [Token], diagnostics: [Diagnostic]) {
        var lexer = Lexer(bytes: bytes, lines: lines)
        lexer.run()
        return (lexer.tokens, lexer.diagnostics)
    }

    private var count: Int { bytes.count }

    private func peek(_ offset: Int = 0) -> UInt8 {
        let i = pos + offset
        return i < bytes.count ? bytes[i] : 0
    }

    private mutating func emit(_ kind: TokenKind, _ start: Int, _ end: Int) {
        tokens.append(Token(kind, SourceRange(start, end)))
        if kind != .newline && kind != .indent && kind != .dedent { lineHasTokens = true }
    }

    private mutating func error(_ message: String, _ start: Int, _ end: Int) {
        diagnostics.append(Diagnostic(message, at: SourceRange(start, max(end, start))))
    }

    private mutating func run() {
        while !stopped {
            if let mode = modes.last {
                switch mode {
                case .fstring, .formatSpec:
                    lexFStringLiteral()
                    continue
                case .field:
                    break
                }
            }
            if atLineStart && brackets.isEmpty {
                atLineStart = false
                if !lexIndentation() { continue }
            }
            skipWhitespace()
            if pos >= count { break }
            let b = bytes[pos]
            switch b {
            case UInt8(ascii: "#"):
                while pos < count && bytes[pos] != 0x0A && bytes[pos] != 0x0D { pos += 1 }
            case 0x0A, 0x0D:
                let start = pos
                pos += (b == 0x0D && peek(1) == 0x0A) ? 2 : 1
                if brackets.isEmpty {
                    if lineHasTokens { emit(.newline, start, pos) }
                    lineHasTokens = false
                    atLineStart = true
                }
            case UInt8(ascii: "\\"):
                let next = peek(1)
                if next == 0x0A || next == 0x0D {
                    pos += (next == 0x0D && peek(2) == 0x0A) ? 3 : 2
                    if pos >= count { error("unexpected EOF while parsing", pos - 1, pos) }
                } else {
                    error("unexpected character after line continuation character", pos, pos + 1)
                    pos += 1
                }
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                lexNumber()
            case UInt8(ascii: "."):
                if peek(1) >= UInt8(ascii: "0") && peek(1) <= UInt8(ascii: "9") {
                    lexNumber()
                } else if peek(1) == UInt8(ascii: ".") && peek(2) == UInt8(ascii: ".") {
                    emit(.ellipsis, pos, pos + 3)
                    pos += 3
                } else {
                    emit(.dot, pos, pos + 1)
                    pos += 1
                }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                lexString(start: pos, raw: false, isFString: false)
            default:
                if isNameStart(b) {
                    lexName()
                } else {
                    lexOperator()
                }
            }
        }
        finish()
    }

    /// Gives up on the rest of the input after a fatal error, leaving an error token where it stopped.
    private mutating func stop() {
        emit(.error, pos, pos + 1)
        stopped = true
    }

    private mutating func finish() {
        if let open = brackets.last, !stopped {
            if case .field = modes.last {
                error("f-string: expecting '}'", open.offset, open.offset + 1)
            } else {
                error("'\(Character(Unicode.Scalar(open.byte)))' was never closed", open.offset, open.offset + 1)
            }
        }
        if lineHasTokens { emit(.newline, count, count) }
        for _ in indents.dropFirst() { emit(.dedent, count, count) }
        emit(.endMarker, count, count)
    }

    private mutating func skipWhitespace() {
        while pos < count {
            let b = bytes[pos]
            if b == 0x20 || b == 0x09 || b == 0x0C { pos += 1 } else { break }
        }
    }

    /// Measures the indentation of a new logical line and emits INDENT/DEDENT.
    /// Returns false for a blank or comment-only line, which is skipped whole.
    private mutating func lexIndentation() -> Bool {
        var column = 0
        var altColumn = 0
        let start = pos
        while pos < count {
            switch bytes[pos] {
            case 0x20:
                column += 1
                altColumn += 1
            case 0x09:
                column = (column / 8 + 1) * 8
                altColumn += 1
            case 0x0C:
                column = 0
                altColumn = 0
            default:
                break
            }
            if bytes[pos] != 0x20 && bytes[pos] != 0x09 && bytes[pos] != 0x0C { break }
            pos += 1
        }
        if pos >= count { return true }
        let b = bytes[pos]
        if b == UInt8(ascii: "#") || b == 0x0A || b == 0x0D { return true }
        if b == UInt8(ascii: "\\") && (peek(1) == 0x0A || peek(1) == 0x0D) { return true }
        if column > indents.last! {
            if indents.count > Lexer.maxIndentDepth {
                error("too many levels of indentation", start, pos)
                stop()
                return false
            }
            if altColumn <= altIndents.last! {
                error("inconsistent use of tabs and spaces in indentation", start, pos)
            }
            indents.append(column)
            altIndents.append(altColumn)
            emit(.indent, start, pos)
        } else if column < indents.last! {
            while indents.count > 1 && column < indents.last! {
                indents.removeLast()
                altIndents.removeLast()
                emit(.dedent, pos, pos)
            }
            if column != indents.last! {
                error("unindent does not match any outer indentation level", pos, pos + 1)
            } else if altColumn != altIndents.last! {
                error("inconsistent use of tabs and spaces in indentation", start, pos)
            }
        } else if altColumn != altIndents.last! {
            error("inconsistent use of tabs and spaces in indentation", start, pos)
        }
        return true
    }

    private func isNameStart(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || b == UInt8(ascii: "_") || b >= 0x80
    }

    private func isNameContinue(_ b: UInt8) -> Bool {
        isNameStart(b) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
    }

    /// Decodes the UTF-8 scalar at `i`, returning it and its length (nil if malformed).
    private func scalar(at i: Int) -> (Unicode.Scalar, Int)? {
        var iterator = bytes[i..<min(i + 4, count)].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let s) = decoder.decode(&iterator) {
            return (s, s.utf8.count)
        }
        return nil
    }

    private mutating func lexName() {
        let start = pos
        var ascii = true
        while pos < count {
            let b = bytes[pos]
            if b < 0x80 {
                if !isNameContinue(b) { break }
                pos += 1
                continue
            }
            guard let (s, length) = scalar(at: pos) else {
                if pos == start {
                    error("invalid UTF-8 byte 0x\(String(b, radix: 16, uppercase: true)) in source", pos, pos + 1)
                    pos += 1
                    return
                }
                break
            }
            let ok = pos == start ? s.properties.isXIDStart : s.properties.isXIDContinue
            if !ok {
                if pos == start {
                    let code = String(s.value, radix: 16, uppercase: true)
                    let padded = String(repeating: "0", count: max(0, 4 - code.count)) + code
                    error("invalid character '\(Character(s))' (U+\(padded))", pos, pos + length)
                    pos += length
                    return
                }
                break
            }
            ascii = false
            pos += length
        }
        if ascii && pos - start <= 2 && pos < count && (bytes[pos] == 0x22 || bytes[pos] == 0x27) {
            if let (raw, isBytes, isF) = stringPrefix(start, pos), !(isBytes && isF) {
                lexString(start: start, raw: raw, isFString: isF)
                return
            }
        }
        if ascii, pos - start <= 8, pos - start >= 2 {
            let text = String(decoding: bytes[start..<pos], as: UTF8.self)
            if let keyword = TokenKind.keyword(text) {
                emit(keyword, start, pos)
                return
            }
        }
        emit(.name, start, pos)
    }

    /// Interprets `bytes[start..<end]` as a string prefix: (raw, bytes, f-string), or nil.
    private func stringPrefix(_ start: Int, _ end: Int) -> (Bool, Bool, Bool)? {
        var raw = false, isBytes = false, isF = false, unicode = false
        for i in start..<end {
            switch bytes[i] | 0x20 {
            case UInt8(ascii: "r"): if raw { return nil } else { raw = true }
            case UInt8(ascii: "b"): if isBytes { return nil } else { isBytes = true }
            case UInt8(ascii: "f"): if isF { return nil } else { isF = true }
            case UInt8(ascii: "u"): if unicode { return nil } else { unicode = true }
            default: return nil
            }
        }
        if unicode && end - start > 1 { return nil }
        return (raw, isBytes, isF)
    }

    /// Lexes a string literal whose prefix starts at `start` and whose quote is at `pos`.
    private mutating func lexString(start: Int, raw: Bool, isFString: Bool) {
        let quote = bytes[pos]
        let triple = peek(1) == quote && peek(2) == quote
        pos += triple ? 3 : 1
        if isFString {
            emit(.fstringStart, start, pos)
            modes.append(.fstring(quote: quote, triple: triple, raw: raw))
            return
        }
        while true {
            if pos >= count {
                unterminated(start, triple: triple)
                emit(.string, start, count)
                return
            }
            let b = bytes[pos]
            if b == UInt8(ascii: "\\") {
                pos += 1
                if pos < count {
                    pos += (bytes[pos] == 0x0D && peek(1) == 0x0A) ? 2 : 1
                }
            } else if b == quote {
                if !triple {
                    pos += 1
                    break
                }
                if peek(1) == quote && peek(2) == quote {
                    pos += 3
                    break
                }
                pos += 1
            } else if (b == 0x0A || b == 0x0D) && !triple {
                unterminated(start, triple: false)
                emit(.string, start, pos)
                return
            } else {
                pos += 1
            }
        }
        emit(.string, start, pos)
    }

    private mutating func unterminated(_ start: Int, triple: Bool, fString: Bool = false) {
        let line = lines.location(of: pos >= count ? max(start, count - 1) : pos).line
        let kind = fString ? "f-string" : "string literal"
        let what = triple ? "unterminated triple-quoted \(kind)" : "unterminated \(kind)"
        error("\(what) (detected at line \(line))", start, start + 1)
    }

    /// The innermost f-string being lexed.
    private var currentFString: (quote: UInt8, triple: Bool, raw: Bool)? {
        for mode in modes.reversed() {
            if case .fstring(let quote, let triple, let raw) = mode { return (quote, triple, raw) }
        }
        return nil
    }

    /// Pops modes up to and including the innermost f-string, closing its open brackets.
    private mutating func popFString() {
        while let mode = modes.popLast() {
            if case .fstring = mode { return }
            if case .field(let depth) = mode {
                while brackets.count >= depth { brackets.removeLast() }
            }
        }
    }

    /// Lexes literal text in an f-string or format spec, up to a replacement field or the end.
    private mutating func lexFStringLiteral() {
        guard let (quote, triple, raw) = currentFString else { return }
        let inSpec: Bool
        if case .formatSpec = modes.last { inSpec = true } else { inSpec = false }
        let start = pos
        func middle(_ lexer: inout Lexer) {
            if lexer.pos > start { lexer.emit(.fstringMiddle, start, lexer.pos) }
        }
        while true {
            if pos >= count {
                middle(&self)
                unterminated(start, triple: triple, fString: true)
                emit(.fstringEnd, count, count)
                popFString()
                return
            }
            let b = bytes[pos]
            if b == quote && (!triple || (peek(1) == quote && peek(2) == quote)) {
                middle(&self)
                if inSpec { error("f-string: expecting '}'", pos, pos + 1) }
                let end = pos + (triple ? 3 : 1)
                emit(.fstringEnd, pos, end)
                pos = end
                popFString()
                return
            }
            if (b == 0x0A || b == 0x0D) && !triple {
                middle(&self)
                unterminated(start, triple: false, fString: true)
                emit(.fstringEnd, pos, pos)
                popFString()
                return
            }
            if b == UInt8(ascii: "\\") {
                let next = peek(1)
                if !raw && next == UInt8(ascii: "N") && peek(2) == UInt8(ascii: "{") {
                    pos += 3
                    while pos < count && bytes[pos] != UInt8(ascii: "}") && bytes[pos] != quote { pos += 1 }
                    if pos < count && bytes[pos] == UInt8(ascii: "}") { pos += 1 }
                } else if next == UInt8(ascii: "{") || next == UInt8(ascii: "}") {
                    pos += 1
                } else {
                    pos += 2
                }
                continue
            }
            if b == UInt8(ascii: "{") {
                if !inSpec && peek(1) == UInt8(ascii: "{") {
                    pos += 2
                    continue
                }
                middle(&self)
                if brackets.count >= Lexer.maxBracketDepth {
                    error("too many nested parentheses", pos, pos + 1)
                    stop()
                    return
                }
                emit(.lbrace, pos, pos + 1)
                brackets.append((b, pos))
                modes.append(.field(bracketDepth: brackets.count))
                pos += 1
                return
            }
            if b == UInt8(ascii: "}") {
                if inSpec {
                    middle(&self)
                    emit(.rbrace, pos, pos + 1)
                    pos += 1
                    modes.removeLast()
                    if case .field = modes.last { modes.removeLast() }
                    if !brackets.isEmpty { brackets.removeLast() }
                    return
                }
                if peek(1) == UInt8(ascii: "}") {
                    pos += 2
                    continue
                }
                error("f-string: single '}' is not allowed", pos, pos + 1)
            }
            pos += 1
        }
    }

    private mutating func lexNumber() {
        let start = pos
        func digits(_ lexer: inout Lexer, _ isDigit: (UInt8) -> Bool) -> Bool {
            var sawDigit = false
            var lastUnderscore = false
            while lexer.pos < lexer.count {
                let b = lexer.bytes[lexer.pos]
                if isDigit(b) {
                    sawDigit = true
                    lastUnderscore = false
                } else if b == UInt8(ascii: "_") && sawDigit && !lastUnderscore {
                    lastUnderscore = true
                } else {
                    break
                }
                lexer.pos += 1
            }
            if lastUnderscore {
                lexer.error("invalid decimal literal", lexer.pos - 1, lexer.pos)
            }
            return sawDigit
        }
        let isDecimal: (UInt8) -> Bool = { $0 >= 48 && $0 <= 57 }
        if bytes[pos] == UInt8(ascii: "0"), case let x = peek(1) | 0x20,
            x == UInt8(ascii: "x") || x == UInt8(ascii: "o") || x == UInt8(ascii: "b")
        {
            pos += 2
            if peek() == UInt8(ascii: "_") { pos += 1 }
            let ok: Bool
            switch x {
            case UInt8(ascii: "x"):
                ok = digits(&self) { isDecimal($0) || (($0 | 0x20) >= 97 && ($0 | 0x20) <= 102) }
            case UInt8(ascii: "o"): ok = digits(&self) { $0 >= 48 && $0 <= 55 }
            default: ok = digits(&self) { $0 == 48 || $0 == 49 }
            }
            if !ok || isNameContinue(peek()) && !isKeywordStart() {
                let kind = x == UInt8(ascii: "x") ? "hexadecimal" : x == UInt8(ascii: "o") ? "octal" : "binary"
                error("invalid \(kind) literal", start, pos + 1)
            }
            emit(.number, start, pos)
            return
        }
        var isInteger = true
        if bytes[pos] != UInt8(ascii: ".") { _ = digits(&self, isDecimal) }
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            _ = digits(&self, isDecimal)
        }
        if peek() | 0x20 == UInt8(ascii: "e") {
            let sign = peek(1) == UInt8(ascii: "+") || peek(1) == UInt8(ascii: "-") ? 1 : 0
            if isDecimal(peek(1 + sign)) {
                isInteger = false
                pos += 1 + sign
                _ = digits(&self, isDecimal)
            }
        }
        if peek() | 0x20 == UInt8(ascii: "j") {
            isInteger = false
            pos += 1
        }
        if isInteger && bytes[start] == UInt8(ascii: "0") {
            if bytes[start..<pos].contains(where: { $0 != UInt8(ascii: "0") && $0 != UInt8(ascii: "_") }) {
                error(
                    "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
                    start, pos)
            }
        }
        if pos < count && isNameStart(bytes[pos]) && !isKeywordStart() {
            error("invalid decimal literal", start, pos + 1)
        }
        emit(.number, start, pos)
    }

    /// Whether a keyword that may directly follow a number (`1if x else y`) starts at `pos`.
    private func isKeywordStart() -> Bool {
        for keyword in ["and", "else", "for", "if", "in", "is", "not", "or"] {
            let k = Array(keyword.utf8)
            if pos + k.count <= count && Array(bytes[pos..<pos + k.count]) == k { return true }
        }
        return false
    }

    private mutating func lexOperator() {
        let start = pos
        let b = bytes[pos]
        let b1 = peek(1)
        let b2 = peek(2)
        var kind: TokenKind
        var length = 1
        func two(_ second: UInt8, _ k: TokenKind) -> Bool {
            if b1 == second {
                kind = k
                length = 2
                return true
            }
            return false
        }
        switch b {
        case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"):
            kind = b == UInt8(ascii: "(") ? .lpar : b == UInt8(ascii: "[") ? .lsqb : .lbrace
            if brackets.count >= Lexer.maxBracketDepth {
                error("too many nested parentheses", pos, pos + 1)
                stop()
                return
            }
            brackets.append((b, pos))
        case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "}"):
            kind = b == UInt8(ascii: ")") ? .rpar : b == UInt8(ascii: "]") ? .rsqb : .rbrace
            let opener: UInt8 = b == UInt8(ascii: ")") ? 0x28 : b == UInt8(ascii: "]") ? 0x5B : 0x7B
            if let open = brackets.last {
                if open.byte != opener {
                    let closing = Character(Unicode.Scalar(b))
                    let opening = Character(Unicode.Scalar(open.byte))
                    let openLine = lines.location(of: open.offset).line
                    let here = lines.location(of: pos).line
                    let suffix = openLine == here ? "" : " on line \(openLine)"
                    error("closing parenthesis '\(closing)' does not match opening parenthesis '\(opening)'\(suffix)", pos, pos + 1)
                }
                brackets.removeLast()
                if case .field(let depth) = modes.last, brackets.count < depth {
                    modes.removeLast()
                }
            } else {
                error("unmatched '\(Character(Unicode.Scalar(b)))'", pos, pos + 1)
            }
        case UInt8(ascii: ":"):
            kind = .colon
            if case .field(let depth) = modes.last, brackets.count == depth {
                modes.append(.formatSpec)
            } else {
                _ = two(UInt8(ascii: "="), .colonEqual)
            }
        case UInt8(ascii: ","): kind = .comma
        case UInt8(ascii: ";"): kind = .semi
        case UInt8(ascii: "~"): kind = .tilde
        case UInt8(ascii: "+"): kind = .plus; _ = two(0x3D, .plusEqual)
        case UInt8(ascii: "-"):
            kind = .minus
            if !two(0x3D, .minEqual) { _ = two(UInt8(ascii: ">"), .rarrow) }
        case UInt8(ascii: "*"):
            kind = .star
            if b1 == UInt8(ascii: "*") {
                kind = b2 == 0x3D ? .doubleStarEqual : .doubleStar
                length = b2 == 0x3D ? 3 : 2
            } else {
                _ = two(0x3D, .starEqual)
            }
        case UInt8(ascii: "/"):
            kind = .slash
            if b1 == UInt8(ascii: "/") {
                kind = b2 == 0x3D ? .doubleSlashEqual : .doubleSlash
                length = b2 == 0x3D ? 3 : 2
            } else {
                _ = two(0x3D, .slashEqual)
            }
        case UInt8(ascii: "|"): kind = .vbar; _ = two(0x3D, .vbarEqual)
        case UInt8(ascii: "&"): kind = .amper; _ = two(0x3D, .amperEqual)
        case UInt8(ascii: "^"): kind = .circumflex; _ = two(0x3D, .circumflexEqual)
        case UInt8(ascii: "%"): kind = .percent; _ = two(0x3D, .percentEqual)
        case UInt8(ascii: "@"): kind = .at; _ = two(0x3D, .atEqual)
        case UInt8(ascii: "="): kind = .equal; _ = two(0x3D, .eqEqual)
        case UInt8(ascii: "!"): kind = .exclamation; _ = two(0x3D, .notEqual)
        case UInt8(ascii: "<"):
            kind = .less
            if b1 == UInt8(ascii: "<") {
                kind = b2 == 0x3D ? .leftShiftEqual : .leftShift
                length = b2 == 0x3D ? 3 : 2
            } else if !two(0x3D, .lessEqual) {
                if two(UInt8(ascii: ">"), .notEqual) { error("invalid syntax", start, start + 2) }
            }
        case UInt8(ascii: ">"):
            kind = .greater
            if b1 == UInt8(ascii: ">") {
                kind = b2 == 0x3D ? .rightShiftEqual : .rightShift
                length = b2 == 0x3D ? 3 : 2
            } else {
                _ = two(0x3D, .greaterEqual)
            }
        default:
            if b == 0 {
                error("source code cannot contain null bytes", pos, pos + 1)
            } else if b < 0x80 {
                error("invalid character '\(Character(Unicode.Scalar(b)))' (U+00\(String(b, radix: 16, uppercase: true)))", pos, pos + 1)
            } else {
                error("invalid non-printable character", pos, pos + 1)
            }
            kind = .error
        }
        pos += length
        emit(kind, start, pos)
    }
}
