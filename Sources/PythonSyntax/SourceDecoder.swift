#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a file's bytes into the UTF-8 text the lexer reads, as CPython's tokenizer does:
/// strips a UTF-8 BOM, honours a PEP 263 coding declaration, and normalises `\r\n` and `\r` to `\n`.
enum SourceDecoder {
    struct Decoded {
        var bytes: [UInt8]
        var diagnostics: [Diagnostic]
    }

    static func decode(_ input: [UInt8]) -> Decoded {
        var bytes = input
        var diagnostics: [Diagnostic] = []
        var hadBOM = false
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            bytes.removeFirst(3)
            hadBOM = true
        }
        if let encoding = codingDeclaration(bytes) {
            let name = encoding.lowercased().replacingUnderscores
            let isUTF8 = name == "utf-8" || name == "utf8" || name.hasPrefix("utf-8-")
            // With a BOM, CPython accepts only the canonical spelling `utf-8` (or `utf-8-…`).
            if hadBOM && !(name == "utf-8" || name.hasPrefix("utf-8-")) {
                diagnostics.append(Diagnostic("encoding problem: \(encoding) with BOM", at: SourceRange(0, 0)))
            } else if !isUTF8 {
                if let converted = convert(bytes, from: name) {
                    bytes = converted
                } else {
                    diagnostics.append(Diagnostic("unknown encoding: \(encoding)", at: SourceRange(0, 0)))
                }
            }
        }
        bytes = normaliseNewlines(bytes)
        if let bad = firstInvalidUTF8(bytes) {
            let byte = String(bytes[bad], radix: 16)
            diagnostics.append(
                Diagnostic(
                    "(unicode error) 'utf-8' codec can't decode byte 0x\(byte) in position \(bad): invalid start byte",
                    at: SourceRange(bad, bad + 1)))
        }
        return Decoded(bytes: bytes, diagnostics: diagnostics)
    }

    /// The encoding named by a `coding[:=]` comment on line 1, or on line 2 after a comment or blank line 1.
    static func codingDeclaration(_ bytes: [UInt8]) -> String? {
        var lineStart = 0
        for lineNumber in 0..<2 {
            var end = lineStart
            while end < bytes.count && bytes[end] != 0x0A && bytes[end] != 0x0D { end += 1 }
            let line = bytes[lineStart..<end]
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0C }
            if trimmed.first == UInt8(ascii: "#") {
                let text = String(decoding: trimmed, as: UTF8.self)
                if let name = cookie(in: text) { return name }
            } else if !trimmed.isEmpty || lineNumber == 1 {
                return nil
            }
            lineStart = end
            if lineStart < bytes.count && bytes[lineStart] == 0x0D { lineStart += 1 }
            if lineStart < bytes.count && bytes[lineStart] == 0x0A { lineStart += 1 }
        }
        return nil
    }

    /// Matches `coding[:=]\s*([-\w.]+)` in a comment line.
    private static func cookie(in line: String) -> String? {
        let chars = Array(line.utf8)
        let pattern = Array("coding".utf8)
        var i = 0
        while i + pattern.count < chars.count {
            if Array(chars[i..<i + pattern.count]) == pattern,
                chars[i + pattern.count] == UInt8(ascii: ":") || chars[i + pattern.count] == UInt8(ascii: "=")
            {
                var j = i + pattern.count + 1
                while j < chars.count && (chars[j] == 0x20 || chars[j] == 0x09) { j += 1 }
                let nameStart = j
                while j < chars.count,
                    chars[j] == UInt8(ascii: "-") || chars[j] == UInt8(ascii: "_") || chars[j] == UInt8(ascii: ".")
                        || (chars[j] >= 48 && chars[j] <= 57) || ((chars[j] | 0x20) >= 97 && (chars[j] | 0x20) <= 122)
                {
                    j += 1
                }
                if j > nameStart { return String(decoding: chars[nameStart..<j], as: UTF8.self) }
            }
            i += 1
        }
        return nil
    }

    /// Converts to UTF-8 with iconv, which knows every codec name CPython accepts in practice.
    static func convert(_ bytes: [UInt8], from encoding: String) -> [UInt8]? {
        let aliases = ["latin-1": "latin1", "iso-latin-1": "latin1", "l1": "latin1"]
        let name = aliases[encoding] ?? encoding
        let cd = iconv_open("UTF-8", name)
        if cd == iconv_t(bitPattern: -1) { return nil }
        defer { iconv_close(cd) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: bytes.count * 4 + 16)
        let ok = input.withUnsafeMutableBufferPointer { inBuf -> Int? in
            output.withUnsafeMutableBufferPointer { outBuf -> Int? in
                var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuf.baseAddress)?
                    .assumingMemoryBound(to: CChar.self)
                var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress)?
                    .assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var outLeft = outBuf.count
                if iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) == -1 { return nil }
                return outBuf.count - outLeft
            }
        }
        guard let written = ok else { return nil }
        return Array(output[0..<written])
    }

    static func normaliseNewlines(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(0x0D) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0D {
                out.append(0x0A)
                if i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 1 }
            } else {
                out.append(bytes[i])
            }
            i += 1
        }
        return out
    }

    /// The offset of the first byte that is not part of valid UTF-8, if any.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        if !bytes.contains(where: { $0 >= 0x80 }) { return nil }
        var i = 0
        while i < bytes.count {
            if bytes[i] < 0x80 {
                i += 1
                continue
            }
            var iterator = bytes[i..<min(i + 4, bytes.count)].makeIterator()
            var decoder = UTF8()
            guard case .scalarValue(let s) = decoder.decode(&iterator) else { return i }
            i += s.utf8.count
        }
        return nil
    }
}

extension String {
    fileprivate var replacingUnderscores: String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}
