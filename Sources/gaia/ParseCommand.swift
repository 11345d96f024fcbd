import ArgumentParser
import Foundation
import PythonSyntax

/// `gaia parse FILE [--dump]`: parses a Python file with Gaia's own parser.
struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Parse a Python 3.12 file and report syntax errors, or dump its syntax tree.",
        discussion: """
            With --dump the tree is printed exactly as CPython's ast.dump(ast.parse(source)) prints it, \
            so the two can be compared with diff. Exits 1 if the file has syntax errors (the partial \
            tree is still dumped).
            """
    )

    @Argument(help: "The Python file to parse.")
    var file: String

    @Flag(help: "Print the syntax tree in CPython's ast.dump format.")
    var dump = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError(description: "cannot read '\(file)': no such file, or not readable")
        }
        let result = PythonParser.parse(bytes: Array(data))
        if dump {
            print(result.module.dump())
        }
        for diagnostic in result.diagnostics {
            FileHandle.standardError.write(Data((diagnostic.formatted(file: file, lines: result.lines) + "\n").utf8))
        }
        if !result.isValid {
            throw ExitCode(1)
        }
        if !dump {
            print("\(file): OK, \(result.lines.lineCount) lines, \(result.module.body.count) top-level statements")
        }
    }
}
