import PythonSyntax
import Testing

/// Grammar coverage: each construct's dump must equal CPython 3.12's, pinned in ConstructCases.swift.
struct ConstructTests {
    @Test(arguments: constructCases.map { ConstructCase(name: $0.name, source: $0.source, dump: $0.dump) })
    func dumpMatchesCPython(_ construct: ConstructCase) {
        let result = PythonParser.parse(bytes: Array(construct.source.utf8))
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        #expect(result.module.dump() == construct.dump)
    }

    @Test func latin1CodingDeclarationIsHonoured() {
        // "# -*- coding: latin-1 -*-\ns = 'é'\n" with é as the single byte 0xE9.
        var bytes = Array("# -*- coding: latin-1 -*-\ns = '".utf8)
        bytes += [0xE9]
        bytes += Array("'\n".utf8)
        let result = PythonParser.parse(bytes: bytes)
        #expect(result.isValid)
        #expect(result.module.dump().contains("Constant(value='é')"))
    }

    @Test func unknownEncodingIsADiagnostic() {
        let result = PythonParser.parse("# coding: no-such-codec\nx = 1\n")
        #expect(result.diagnostics.map(\.message) == ["unknown encoding: no-such-codec"])
    }
}

/// One row of the construct table.
struct ConstructCase: Sendable, CustomTestStringConvertible {
    let name: String
    let source: String
    let dump: String
    var testDescription: String { name }
}

/// Syntax errors: the message, where it is reported (1-based line:column), and that parsing goes on.
struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let source: String
        let location: String
        let message: String
        var testDescription: String { message }
    }

    static let cases: [Case] = [
        Case(source: "x = (1,\n2\n", location: "1:5", message: "'(' was never closed"),
        Case(source: "def f():\n    return [1, 2\n", location: "2:12", message: "'[' was never closed"),
        Case(source: "x = (1, 2]\n", location: "1:10", message: "closing parenthesis ']' does not match opening parenthesis '('"),
        Case(source: "x = 1)\n", location: "1:6", message: "unmatched ')'"),
        Case(source: "if x:\n    a\n  b\n", location: "3:3", message: "unindent does not match any outer indentation level"),
        Case(source: "a = 1\n    b = 2\n", location: "2:5", message: "unexpected indent"),
        Case(source: "if x:\n\tif y:\n        pass\n", location: "3:1", message: "inconsistent use of tabs and spaces in indentation"),
        Case(source: "def f():\npass\n", location: "2:1", message: "expected an indented block after function definition on line 1"),
        Case(source: "x = = 1\n", location: "1:5", message: "invalid syntax"),
        Case(source: "x = 1 2\n", location: "1:7", message: "invalid syntax"),
        Case(source: "x = 1 $ 2\n", location: "1:7", message: "invalid character '$' (U+0024)"),
        Case(source: "if x\n    pass\n", location: "1:5", message: "expected ':'"),
        Case(source: "x = 'abc\ny = 2\n", location: "1:5", message: "unterminated string literal (detected at line 1)"),
        Case(source: "x = 1\ns = \"\"\"abc\ndef\n", location: "2:5", message: "unterminated triple-quoted string literal (detected at line 3)"),
        Case(source: "x = f'{a'\n", location: "1:7", message: "f-string: expecting '}'"),
        Case(source: "x = 012\n", location: "1:5", message: "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers"),
        Case(source: "f() = 1\n", location: "1:1", message: "cannot assign to function call"),
        Case(source: "del f()\n", location: "1:5", message: "cannot delete function call"),
        Case(source: "a, b += 1\n", location: "1:1", message: "'tuple' is an illegal expression for augmented assignment"),
        Case(source: "f(a=1, 2)\n", location: "1:8", message: "positional argument follows keyword argument"),
        Case(source: "def f(a=1, b): pass\n", location: "1:12", message: "non-default argument follows default argument"),
        Case(source: "try:\n    pass\nx = 1\n", location: "3:1", message: "expected 'except' or 'finally' block"),
        Case(source: "x = 1\0\n", location: "1:6", message: "source code cannot contain null bytes"),
        Case(source: "s = b'é'\n", location: "1:7", message: "bytes can only contain ASCII literal characters"),
        Case(source: "x = 'a' b'b'\n", location: "1:5", message: "cannot mix bytes and nonbytes literals"),
        Case(source: "except E:\n    pass\n", location: "1:1", message: "invalid syntax"),
    ]

    @Test(arguments: cases)
    func reportsTheErrorWhereItIs(_ c: Case) throws {
        let result = PythonParser.parse(c.source)
        let first = try #require(result.diagnostics.first, "no diagnostic for \(c.source.debugDescription)")
        #expect(first.message == c.message)
        #expect(result.location(of: first.range).description == c.location)
    }

    @Test func keepsGoingAfterAnErrorAndReturnsAPartialTree() {
        let result = PythonParser.parse("x = 1\ny = = 2\ndef f(a b):\n    pass\nz = 3\n")
        #expect(result.diagnostics.count == 2)
        #expect(result.diagnostics.map { result.location(of: $0.range).line } == [2, 3])
        let dump = result.module.dump()
        #expect(dump.contains("Name(id='x', ctx=Store())"))
        #expect(dump.contains("Name(id='z', ctx=Store())"))
    }

    @Test func invalidUTF8IsADiagnosticNotACrash() throws {
        let bytes: [UInt8] = Array("x = 1\ny = '".utf8) + [0xFF, 0xFE] + Array("'\nz = 2\n".utf8)
        let result = PythonParser.parse(bytes: bytes)
        let first = try #require(result.diagnostics.first)
        #expect(first.message.contains("can't decode byte 0xff"))
        #expect(result.location(of: first.range).description == "2:6")
    }

    /// A source nested 10,000 levels deep in one way, named for the test report.
    struct DeepSource: Sendable, CustomTestStringConvertible {
        let name: String
        let source: String
        var testDescription: String { name }
    }

    static let deepSources: [DeepSource] = [
        DeepSource(name: "parentheses", source: String(repeating: "(", count: 10_000) + String(repeating: ")", count: 10_000)),
        DeepSource(name: "brackets", source: String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)),
        DeepSource(name: "dicts", source: "x = " + String(repeating: "{'a': ", count: 10_000) + "1" + String(repeating: "}", count: 10_000)),
        DeepSource(name: "unary minus", source: "x = " + String(repeating: "-", count: 10_000) + "1"),
        DeepSource(name: "not", source: "x = " + String(repeating: "not ", count: 10_000) + "y"),
        DeepSource(name: "lambda", source: "x = " + String(repeating: "lambda: ", count: 10_000) + "1"),
        DeepSource(name: "conditional", source: "x = " + String(repeating: "a if b else ", count: 10_000) + "c"),
        DeepSource(name: "power", source: "x = " + String(repeating: "a ** ", count: 10_000) + "c"),
        DeepSource(name: "attribute chain", source: "x = a" + String(repeating: ".b", count: 10_000)),
        DeepSource(name: "call chain", source: "x = a" + String(repeating: "(1)", count: 10_000)),
        DeepSource(name: "sum chain", source: "x = " + Array(repeating: "1", count: 10_000).joined(separator: " + ")),
        DeepSource(name: "f-strings", source: "x = " + String(repeating: "f'{", count: 10_000) + "1" + String(repeating: "}'", count: 10_000)),
        DeepSource(name: "indentation", source: (0..<10_000).map { String(repeating: " ", count: $0) + "if x:\n" }.joined() + "pass\n"),
    ]

    @Test(arguments: deepSources)
    func tenThousandDeepNestingIsRefusedCleanly(_ deep: DeepSource) throws {
        let result = PythonParser.parse(deep.source)
        let first = try #require(result.diagnostics.first)
        #expect(
            ["too many nested parentheses", "too many nested expressions or blocks", "too many levels of indentation"]
                .contains(first.message), "\(first.message)")
        _ = result.module.dump()
    }

    @Test func neverLoopsOnGarbage() {
        // Every byte value and a run of stray tokens: the parser must return with diagnostics.
        var bytes: [UInt8] = Array(0...255)
        bytes += Array(") ] } : = , . else elif except finally case ** -> @ ; \\ \n\t\t\n  ?".utf8)
        let result = PythonParser.parse(bytes: bytes)
        #expect(!result.diagnostics.isEmpty)
    }
}

/// Positions: the line table gives CPython's 1-based line and 0-based UTF-8 byte column.
struct LocationTests {
    @Test func lineAndColumnFollowCPython() {
        let result = PythonParser.parse("x = 1\nif y:\n    zé = 'ü'\n")
        guard case .if(_, let body, _) = result.module.body[1].kind,
            case .assign(let targets, let value) = body[0].kind
        else {
            Issue.record("unexpected tree \(result.module.dump())")
            return
        }
        #expect(result.location(of: targets[0].range) == SourceLocation(line: 3, column: 4))
        // `zé` is 3 bytes, so the value starts at byte column 10, as CPython's col_offset says.
        #expect(result.location(of: value.range) == SourceLocation(line: 3, column: 10))
    }
}
