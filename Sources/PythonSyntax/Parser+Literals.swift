import BigInt
import Foundation

/// A piece of a string concatenation: literal code points or a replacement field.
enum StringPart {
    case literal([UInt32], SourceRange)
    case value(Expr)
}

extension Parser {
    /// The value of a NUMBER token.
    func numberValue(_ t: Token) -> Constant {
        var digits: [UInt8] = []
        digits.reserveCapacity(Int(t.range.end - t.range.start))
        for b in bytes[Int(t.range.start)..<Int(t.range.end)] where b != UInt8(ascii: "_") { digits.append(b) }
        let s = String(decoding: digits, as: UTF8.self)
        if let last = digits.last, last | 0x20 == UInt8(ascii: "j") {
            return .complex(Double(s.dropLast()) ?? 0)
        }
        if digits.count > 1 && digits[0] == UInt8(ascii: "0") {
            switch digits[1] | 0x20 {
            case UInt8(ascii: "x"): return .int(BigInt(s.dropFirst(2), radix: 16) ?? 0)
            case UInt8(ascii: "o"): return .int(BigInt(s.dropFirst(2), radix: 8) ?? 0)
            case UInt8(ascii: "b"): return .int(BigInt(s.dropFirst(2), radix: 2) ?? 0)
            default: break
            }
        }
        if digits.contains(where: { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") }) {
            return .float(Double(s) ?? 0)
        }
        if digits.count < 19, let small = Int(s) { return .int(BigInt(small)) }
        return .int(BigInt(s) ?? 0)
    }

    /// strings: (STRING | fstring)+, concatenated into a Constant or a JoinedStr.
    mutating func parseStrings() -> Expr {
        let start = token.range.start
        var parts: [StringPart] = []
        var sawBytes = false
        var sawText = false
        var sawFString = false
        var kindU: String?
        var first = true
        while kind == .string || kind == .fstringStart {
            let t = token
            let prefix = stringPrefix(t)
            if first && prefix.unicode { kindU = "u" }
            first = false
            if prefix.bytes { sawBytes = true } else { sawText = true }
            if t.kind == .string {
                advance()
                parts.append(.literal(stringBody(t, prefix: prefix), t.range))
            } else {
                sawFString = true
                parseFString(raw: prefix.raw, into: &parts)
            }
        }
        let whole = range(from: start)
        if sawBytes && sawText {
            error("cannot mix bytes and nonbytes literals", at: whole)
        }
        if !sawFString {
            var all: [UInt32] = []
            for case .literal(let cps, _) in parts { all += cps }
            if sawBytes {
                return Expr(.constant(value: .bytes(all.map { UInt8(truncatingIfNeeded: $0) }), kind: nil), whole)
            }
            return Expr(.constant(value: .str(PyString(codePoints: all)), kind: kindU), whole)
        }
        return Expr(.joinedStr(values: merge(parts)), whole)
    }

    /// Joins adjacent literal parts into single Constants and drops empty ones, as CPython does.
    func merge(_ parts: [StringPart]) -> [Expr] {
        var values: [Expr] = []
        var pending: [UInt32] = []
        var pendingRange: SourceRange?
        func flush() {
            if let r = pendingRange, !pending.isEmpty {
                values.append(Expr(.constant(value: .str(PyString(codePoints: pending)), kind: nil), r))
            }
            pending = []
            pendingRange = nil
        }
        for part in parts {
            switch part {
            case .literal(let cps, let r):
                pending += cps
                pendingRange = pendingRange.map { $0.union(r) } ?? r
            case .value(let e):
                flush()
                values.append(e)
            }
        }
        flush()
        return values
    }

    /// fstring: FSTRING_START (FSTRING_MIDDLE | replacement_field)* FSTRING_END
    mutating func parseFString(raw: Bool, into parts: inout [StringPart]) {
        advance()
        while true {
            switch kind {
            case .fstringMiddle:
                let t = advance()
                parts.append(.literal(decode(t.range, raw: raw, bytesLiteral: false, fString: true), t.range))
            case .lbrace:
                guard let field = nested({ $0.parseReplacementField(raw: raw) }) else { return }
                parts += field
            case .fstringEnd:
                advance()
                return
            default:
                error("f-string: expecting '}'")
                return
            }
        }
    }

    /// fstring_replacement_field: '{' (yield_expr | star_expressions) ['='] ['!' NAME] [':' format_spec*] '}'
    mutating func parseReplacementField(raw: Bool) -> [StringPart] {
        let open = advance()
        if kind == .rbrace {
            error("f-string: valid expression required before '}'")
        }
        let value = kind == .kwYield ? parseYield() : parseStarExpressions()
        var parts: [StringPart] = []
        var debug = false
        if kind == .equal {
            advance()
            debug = true
            let textRange = SourceRange(start: open.range.end, end: token.range.start)
            parts.append(.literal(debugText(from: open, to: p), textRange))
        }
        var conversion = -1
        if accept(.exclamation) != nil {
            if kind == .name, case let name = text(token), ["s", "r", "a"].contains(name) {
                conversion = Int(name.unicodeScalars.first!.value)
                advance()
            } else {
                error("f-string: invalid conversion character: expected 's', 'r', or 'a'")
            }
        }
        var formatSpec: Expr?
        if let colon = accept(.colon) {
            var specParts: [StringPart] = []
            loop: while true {
                switch kind {
                case .fstringMiddle:
                    let t = advance()
                    specParts.append(.literal(decode(t.range, raw: raw, bytesLiteral: false, fString: true), t.range))
                case .lbrace:
                    guard let field = nested({ $0.parseReplacementField(raw: raw) }) else { break loop }
                    specParts += field
                default:
                    break loop
                }
            }
            if case .value = specParts.last {
                // CPython 3.12's tokenizer emits an empty FSTRING_MIDDLE after a nested field that
                // ends a format spec, so its tree has a trailing Constant(''); keep the tree identical.
                specParts.append(.value(Expr(.constant(value: .str(PyString(codePoints: [])), kind: nil), token.range)))
            }
            formatSpec = Expr(.joinedStr(values: merge(specParts)), range(from: colon.range.start))
        }
        if accept(.rbrace) == nil {
            error("f-string: expecting '}'")
        }
        if debug && conversion == -1 && formatSpec == nil { conversion = Int(UInt8(ascii: "r")) }
        let formatted = Expr(
            .formattedValue(value: value, conversion: conversion, formatSpec: formatSpec), range(from: open.range.start))
        parts.append(.value(formatted))
        return parts
    }

    /// The source text of a self-documenting field (`{expr=}`): from after the `{` up to the token
    /// at `end`, with comments (which can only sit between tokens) left out, as CPython does.
    func debugText(from open: Token, to end: Int) -> [UInt32] {
        guard let openIndex = tokens[..<end].lastIndex(where: { $0.range == open.range }) else { return [] }
        var text: [UInt8] = []
        var gapStart = Int(open.range.end)
        for t in tokens[(openIndex + 1)...end] {
            var gap = bytes[gapStart..<Int(t.range.start)]
            while let hash = gap.firstIndex(of: UInt8(ascii: "#")) {
                text += gap[..<hash]
                gap = gap[hash...].drop { $0 != 0x0A }
            }
            text += gap
            if t.range.start == tokens[end].range.start { break }
            text += bytes[Int(t.range.start)..<Int(t.range.end)]
            gapStart = Int(t.range.end)
        }
        return String(decoding: text, as: UTF8.self).unicodeScalars.map(\.value)
    }

    /// The prefix letters of a string token.
    func stringPrefix(_ t: Token) -> (raw: Bool, bytes: Bool, unicode: Bool, length: Int) {
        var i = Int(t.range.start)
        var raw = false, isBytes = false, unicode = false
        while i < Int(t.range.end) {
            switch bytes[i] | 0x20 {
            case UInt8(ascii: "r"): raw = true
            case UInt8(ascii: "b"): isBytes = true
            case UInt8(ascii: "u"): unicode = true
            case UInt8(ascii: "f"): break
            default: return (raw, isBytes, unicode, i - Int(t.range.start))
            }
            i += 1
        }
        return (raw, isBytes, unicode, i - Int(t.range.start))
    }

    /// The decoded contents of a (non-f) STRING token.
    mutating func stringBody(_ t: Token, prefix: (raw: Bool, bytes: Bool, unicode: Bool, length: Int)) -> [UInt32] {
        let open = Int(t.range.start) + prefix.length
        let end = Int(t.range.end)
        guard open < end else { return [] }
        let quote = bytes[open]
        let triple = open + 2 < end && bytes[open + 1] == quote && bytes[open + 2] == quote && end - open >= 6
        let quoteLength = triple ? 3 : 1
        var closeStart = end - quoteLength
        if closeStart < open + quoteLength || bytes[end - 1] != quote { closeStart = end }  // unterminated
        return decode(SourceRange(open + quoteLength, closeStart), raw: prefix.raw, bytesLiteral: prefix.bytes, fString: false)
    }

    /// Decodes literal text, processing backslash escapes unless `raw`, and `{{`/`}}` in f-strings.
    mutating func decode(_ r: SourceRange, raw: Bool, bytesLiteral: Bool, fString: Bool) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(Int(r.end - r.start))
        var i = Int(r.start)
        let end = Int(r.end)
        func hex(_ parser: inout Parser, _ count: Int, _ escape: Character) -> UInt32? {
            var value: UInt32 = 0
            for k in 0..<count {
                let j = i + k
                guard j < end, let d = hexDigit(parser.bytes[j]) else {
                    parser.error("(unicode error) truncated \\\(escape) escape", at: SourceRange(i - 2, min(j + 1, end)))
                    i = j
                    return nil
                }
                value = value * 16 + d
            }
            i += count
            return value
        }
        while i < end {
            let b = bytes[i]
            if fString && (b == UInt8(ascii: "{") || b == UInt8(ascii: "}")) {
                out.append(UInt32(b))
                i += (i + 1 < end && bytes[i + 1] == b) ? 2 : 1
                continue
            }
            if b != UInt8(ascii: "\\") || raw {
                if b < 0x80 {
                    out.append(UInt32(b))
                    i += 1
                } else {
                    if bytesLiteral {
                        error("bytes can only contain ASCII literal characters", at: SourceRange(i, i + 1))
                    }
                    let (scalar, length) = decodeScalar(at: i, end: end)
                    out.append(scalar)
                    i += length
                }
                continue
            }
            i += 1
            guard i < end else {
                out.append(UInt32(b))
                break
            }
            let c = bytes[i]
            i += 1
            switch c {
            case 0x0A: break
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(UInt32(c))
            case UInt8(ascii: "a"): out.append(7)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "v"): out.append(11)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = UInt32(c - 48)
                var n = 1
                while n < 3 && i < end && bytes[i] >= 48 && bytes[i] <= 55 {
                    value = value * 8 + UInt32(bytes[i] - 48)
                    i += 1
                    n += 1
                }
                out.append(bytesLiteral ? value & 0xFF : value)
            case UInt8(ascii: "x"):
                if let v = hex(&self, 2, "x") { out.append(v) }
            case UInt8(ascii: "u") where !bytesLiteral:
                if let v = hex(&self, 4, "u") { out.append(v) }
            case UInt8(ascii: "U") where !bytesLiteral:
                if let v = hex(&self, 8, "U") {
                    if v > 0x10FFFF {
                        error("(unicode error) illegal Unicode character", at: SourceRange(i - 10, i))
                    } else {
                        out.append(v)
                    }
                }
            case UInt8(ascii: "N") where !bytesLiteral:
                guard i < end, bytes[i] == UInt8(ascii: "{"),
                    let close = bytes[i..<end].firstIndex(of: UInt8(ascii: "}"))
                else {
                    error("(unicode error) malformed \\N character escape", at: SourceRange(i - 2, i))
                    continue
                }
                let name = String(decoding: bytes[(i + 1)..<close], as: UTF8.self)
                if let scalar = Parser.unicodeScalar(named: name) {
                    out.append(scalar)
                } else {
                    error("(unicode error) unknown Unicode character name", at: SourceRange(i - 2, close + 1))
                }
                i = close + 1
            default:
                out.append(UInt32(UInt8(ascii: "\\")))
                if c < 0x80 {
                    out.append(UInt32(c))
                } else {
                    let (scalar, length) = decodeScalar(at: i - 1, end: end)
                    out.append(scalar)
                    i += length - 1
                }
            }
        }
        return out
    }

    /// The code point of the UTF-8 sequence at `i` and its length; a malformed byte decodes as U+FFFD.
    func decodeScalar(at i: Int, end: Int) -> (UInt32, Int) {
        var iterator = bytes[i..<min(i + 4, end)].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let s) = decoder.decode(&iterator) { return (s.value, s.utf8.count) }
        return (0xFFFD, 1)
    }

    /// The scalar a `\N{…}` escape names (Unicode names and aliases, through ICU).
    static func unicodeScalar(named name: String) -> UInt32? {
        let transformed = "\\N{\(name.uppercased())}".applyingTransform(StringTransform("Name-Any"), reverse: false)
        guard let s = transformed, s.unicodeScalars.count == 1 else { return nil }
        return s.unicodeScalars.first!.value
    }
}

/// The value of an ASCII hex digit.
func hexDigit(_ b: UInt8) -> UInt32? {
    switch b {
    case 48...57: UInt32(b - 48)
    case 65...70: UInt32(b - 55)
    case 97...102: UInt32(b - 87)
    default: nil
    }
}
