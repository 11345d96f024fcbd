/// Python's `repr()` of literal values, as `ast.dump` shows them.
public enum PythonRepr {
    /// `repr` of a constant: `None`, `True`, `Ellipsis`, `42`, `1e+16`, `2j`, `'text'`, `b'\x00'`.
    public static func constant(_ value: Constant) -> String {
        switch value {
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .ellipsis: "Ellipsis"
        case .int(let i): i.description
        case .float(let d): float(d)
        case .complex(let d): imaginary(d)
        case .str(let s): string(s)
        case .bytes(let b): bytes(b)
        }
    }

    /// `repr(float)`: the shortest text that round-trips, exponent form outside 1e-4 ..< 1e16.
    public static func float(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        return d.description
    }

    /// `repr(complex(0, d))`: like a float but with no `.0` on whole numbers, then `j`.
    public static func imaginary(_ d: Double) -> String {
        var s = float(d)
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s + "j"
    }

    /// `repr(str)`: single quotes unless the text has a `'` and no `"`; non-printables escaped.
    public static func string(_ s: PyString) -> String {
        var hasSingle = false
        var hasDouble = false
        for c in s.codePoints {
            if c == 0x27 { hasSingle = true } else if c == 0x22 { hasDouble = true }
        }
        let quote: UInt32 = hasSingle && !hasDouble ? 0x22 : 0x27
        var out = String.UnicodeScalarView()
        out.append(Unicode.Scalar(UInt8(quote)))
        for c in s.codePoints {
            if c == quote || c == 0x5C {
                out.append("\\")
                out.append(Unicode.Scalar(UInt8(c)))
            } else if c == 0x09 {
                out.append(contentsOf: "\\t".unicodeScalars)
            } else if c == 0x0A {
                out.append(contentsOf: "\\n".unicodeScalars)
            } else if c == 0x0D {
                out.append(contentsOf: "\\r".unicodeScalars)
            } else if c < 0x20 || c == 0x7F {
                appendEscape(&out, "x", c, width: 2)
            } else if c < 0x7F {
                out.append(Unicode.Scalar(UInt8(c)))
            } else if let scalar = Unicode.Scalar(c), isPrintable(scalar) {
                out.append(scalar)
            } else if c <= 0xFF {
                appendEscape(&out, "x", c, width: 2)
            } else if c <= 0xFFFF {
                appendEscape(&out, "u", c, width: 4)
            } else {
                appendEscape(&out, "U", c, width: 8)
            }
        }
        out.append(Unicode.Scalar(UInt8(quote)))
        return String(out)
    }

    /// `repr(bytes)`: `b'…'` with non-ASCII and control bytes as `\xNN`.
    public static func bytes(_ b: [UInt8]) -> String {
        let quote: UInt8 = b.contains(0x27) && !b.contains(0x22) ? 0x22 : 0x27
        var out = String.UnicodeScalarView()
        out.append("b")
        out.append(Unicode.Scalar(quote))
        for c in b {
            if c == quote || c == 0x5C {
                out.append("\\")
                out.append(Unicode.Scalar(c))
            } else if c == 0x09 {
                out.append(contentsOf: "\\t".unicodeScalars)
            } else if c == 0x0A {
                out.append(contentsOf: "\\n".unicodeScalars)
            } else if c == 0x0D {
                out.append(contentsOf: "\\r".unicodeScalars)
            } else if c < 0x20 || c >= 0x7F {
                appendEscape(&out, "x", UInt32(c), width: 2)
            } else {
                out.append(Unicode.Scalar(c))
            }
        }
        out.append(Unicode.Scalar(quote))
        return String(out)
    }

    /// Python's `str.isprintable` for one character.
    ///
    /// Judged by Unicode 15.0, the database of CPython 3.12: characters assigned in later versions
    /// count as unassigned, so dumps match CPython's on any Swift runtime.
    static func isPrintable(_ s: Unicode.Scalar) -> Bool {
        if s == " " { return true }
        if let age = s.properties.age, age.major > 15 || (age.major == 15 && age.minor > 0) { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return false
        default:
            return true
        }
    }

    private static func appendEscape(_ out: inout String.UnicodeScalarView, _ letter: Character, _ value: UInt32, width: Int) {
        out.append("\\")
        out.append(letter.unicodeScalars.first!)
        let hex = String(value, radix: 16)
        for _ in hex.count..<width { out.append("0") }
        out.append(contentsOf: hex.unicodeScalars)
    }
}
