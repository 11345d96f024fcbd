import Foundation

/// The result of parsing one file: the tree (partial where there were errors) and what went wrong.
public struct ParseResult: Sendable {
    /// The module; statements that failed to parse are left out.
    public var module: Module
    /// Syntax errors, in source order of discovery; empty for a valid file.
    public var diagnostics: [Diagnostic]
    /// Line table of the (decoded, newline-normalised) source, for reporting positions.
    public var lines: LineTable
    /// The decoded UTF-8 source the ranges refer to.
    public var source: [UInt8]

    /// Whether the file parsed without errors.
    public var isValid: Bool { diagnostics.isEmpty }

    /// The 1-based line and 0-based column of a range's start.
    public func location(of range: SourceRange) -> SourceLocation { lines.location(of: range) }
}

/// Entry points of the Python 3.12 parser.
public enum PythonParser {
    /// Parses a file's raw bytes (any PEP 263 encoding, BOM, any newline style).
    public static func parse(bytes: [UInt8]) -> ParseResult {
        let decoded = SourceDecoder.decode(bytes)
        let lines = LineTable(decoded.bytes)
        let (tokens, lexErrors) = Lexer.tokenize(decoded.bytes, lines: lines)
        var parser = Parser(bytes: decoded.bytes, tokens: tokens, lines: lines)
        let body = parser.parseFile()
        // A lexer error (an unclosed bracket, a bad character) is the root cause of the parser
        // errors that follow it, so those are left out; earlier parser errors stay.
        let firstLexError = lexErrors.map(\.range.start).min() ?? .max
        let parseErrors = parser.diagnostics.filter { $0.range.start < firstLexError }
        let diagnostics = decoded.diagnostics + (lexErrors + parseErrors).sorted { $0.range.start < $1.range.start }
        return ParseResult(module: Module(body: body), diagnostics: diagnostics, lines: lines, source: decoded.bytes)
    }

    /// Parses source text.
    public static func parse(_ source: String) -> ParseResult {
        parse(bytes: Array(source.utf8))
    }
}

/// Recursive-descent parser over the token array, one function per grammar rule.
///
/// It never traps: on an error it records a diagnostic, skips to the end of the logical line and
/// goes on. Every loop consumes a token or stops, and nesting is capped.
struct Parser {
    /// The deepest recursive nesting (brackets, unary operators, blocks…) accepted in a statement.
    static let maxDepth = 300
    /// The deepest tree accepted, counting links of left-associative chains such as `a.b.c` or
    /// `1 + 2 + 3`; CPython refuses trees of about this depth ("during ast construction").
    static let maxTreeDepth = 2000

    let bytes: [UInt8]
    let tokens: [Token]
    let lines: LineTable
    var p = 0
    var diagnostics: [Diagnostic] = []
    /// Set after the first error of a statement so one mistake reports once.
    var recovering = false
    var depth = 0
    /// Depth of the tree being built: `depth` plus the links of the chains being extended.
    var treeDepth = 0

    init(bytes: [UInt8], tokens: [Token], lines: LineTable) {
        self.bytes = bytes
        self.tokens = tokens
        self.lines = lines
    }

    // MARK: Token cursor

    var token: Token { tokens[p] }
    var kind: TokenKind { tokens[p].kind }

    func peek(_ n: Int) -> TokenKind {
        let i = p + n
        return i < tokens.count ? tokens[i].kind : .endMarker
    }

    @discardableResult
    mutating func advance() -> Token {
        let t = tokens[p]
        if p < tokens.count - 1 { p += 1 }
        return t
    }

    mutating func accept(_ k: TokenKind) -> Token? {
        kind == k ? advance() : nil
    }

    @discardableResult
    mutating func expect(_ k: TokenKind, _ what: String) -> Token? {
        if kind == k { return advance() }
        error("expected '\(what)'")
        return nil
    }

    /// The previous token's end, for closing a node's range.
    var lastEnd: UInt32 { p > 0 ? tokens[p - 1].range.end : 0 }

    func text(_ t: Token) -> String {
        String(decoding: bytes[Int(t.range.start)..<Int(t.range.end)], as: UTF8.self)
    }

    /// Whether the current token is the name `word` (a soft keyword).
    func isSoftKeyword(_ word: StaticString, at offset: Int = 0) -> Bool {
        let i = p + offset
        guard i < tokens.count, tokens[i].kind == .name else { return false }
        let r = tokens[i].range
        guard Int(r.end - r.start) == word.utf8CodeUnitCount else { return false }
        return word.withUTF8Buffer { w in
            var j = 0
            while j < w.count {
                if bytes[Int(r.start) + j] != w[j] { return false }
                j += 1
            }
            return true
        }
    }

    /// A name's identifier, NFKC-normalised as CPython does for non-ASCII names.
    func identifier(_ t: Token) -> String {
        let raw = text(t)
        if raw.utf8.allSatisfy({ $0 < 0x80 }) { return raw }
        return raw.nfkc
    }

    func range(from start: UInt32) -> SourceRange {
        SourceRange(start: start, end: max(start, lastEnd))
    }

    // MARK: Errors

    mutating func error(_ message: String, at range: SourceRange? = nil) {
        if recovering { return }
        recovering = true
        // The lexer has already reported what is wrong at an error token.
        if token.kind == .error && range == nil { return }
        var r = range ?? token.range
        if token.kind == .newline || token.kind == .endMarker, range == nil, p > 0 {
            // CPython points just past the previous token for a premature end of line.
            r = SourceRange(start: tokens[p - 1].range.end, end: tokens[p - 1].range.end)
            if message == "invalid syntax" {
                diagnostics.append(Diagnostic(message, at: r))
                return
            }
        }
        diagnostics.append(Diagnostic(message, at: r))
    }

    /// Skips the rest of a broken logical line, including its NEWLINE.
    mutating func synchronize() {
        while kind != .newline && kind != .endMarker {
            if kind == .indent || kind == .dedent { return }
            advance()
        }
        _ = accept(.newline)
    }

    /// Runs `body` one nesting level deeper, or reports and returns nil past the cap.
    mutating func nested<T>(_ body: (inout Parser) -> T) -> T? {
        if depth >= Parser.maxDepth || treeDepth >= Parser.maxTreeDepth {
            error("too many nested expressions or blocks")
            return nil
        }
        depth += 1
        treeDepth += 1
        defer {
            depth -= 1
            treeDepth -= 1
        }
        return body(&self)
    }

    /// Counts one more link of a left-associative chain; false (with an error) past the tree depth cap.
    /// The caller gives its links back with `treeDepth -= links` when the chain ends.
    mutating func extendChain() -> Bool {
        if treeDepth >= Parser.maxTreeDepth {
            error("too many nested expressions or blocks")
            return false
        }
        treeDepth += 1
        return true
    }

    /// A placeholder expression for input that could not be parsed.
    func errorExpr() -> Expr {
        Expr(.name(id: "<error>", ctx: .load), token.range)
    }
}

extension String {
    /// Unicode NFKC normal form (CPython normalises identifiers this way).
    var nfkc: String { precomposedStringWithCompatibilityMapping }
}
