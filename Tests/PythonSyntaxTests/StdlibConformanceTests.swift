import Foundation
import PythonSyntax
import Testing

/// Parses every file of CPython's own standard library and compares the tree, text for text,
/// with `ast.dump(ast.parse(source))` from that same CPython.
struct StdlibConformanceTests {
    @Test func everyStdlibFileParsesAndDumpsLikeCPython() throws {
        guard let python = ReferencePython.find() else {
            Issue.record("no CPython 3.x interpreter found: install python3.12 or set GAIA_REFERENCE_PYTHON")
            return
        }
        if !python.isExact {
            print("""
                !!! WARNING: no CPython 3.12 found; comparing with \(python.version) at \(python.executable).
                !!! Known dump differences are normalised (3.13+: show_empty=True; 3.11 and older have no
                !!! type_params), but that stdlib may use syntax 3.12 lacks, so the thresholds are lower.
                """)
        }
        let stdlib = try ReferencePython.run(
            python.executable, ["-S", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let script = try #require(Bundle.module.path(forResource: "cpython_dump", ofType: "py", inDirectory: "Fixtures"))
        let reference = try ReferencePython.run(python.executable, ["-S", script, stdlib])

        var total = 0
        var identical = 0
        var rejectedByCPython = 0
        var rejectedByBoth = 0
        var lines = 0
        var failures: [String] = []
        var differences: [String] = []
        for record in reference.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = record.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[0])
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let result = PythonParser.parse(bytes: Array(data))
            if fields[1] == "REJECTED" {
                rejectedByCPython += 1
                if !result.isValid { rejectedByBoth += 1 }
                continue
            }
            total += 1
            lines += result.lines.lineCount
            if !result.isValid {
                failures.append("\(path): \(result.diagnostics[0].formatted(file: "", lines: result.lines))")
                continue
            }
            var ours = result.module.dump()
            if python.predatesTypeParams { ours = ours.replacingOccurrences(of: ", type_params=[]", with: "") }
            let theirs = String(fields[2])
            if ours == theirs {
                identical += 1
            } else {
                differences.append("\(path)\n    ours:    \(excerptAtFirstDifference(ours, theirs))\n    CPython: \(excerptAtFirstDifference(theirs, ours))")
            }
        }
        let percent = total == 0 ? 0 : Double(identical) * 100 / Double(total)
        print("""
            PythonSyntax conformance against CPython \(python.version) (\(stdlib)):
              \(total) files accepted by CPython (\(lines) lines): \(total - failures.count) parsed, \(identical) dump identically (\(String(format: "%.2f", percent))%)
              \(rejectedByCPython) files rejected by CPython: \(rejectedByBoth) rejected by us too
            """)
        for failure in failures.prefix(10) { print("  PARSE FAILURE \(failure)") }
        for difference in differences.prefix(10) { print("  DIFFERENCE \(difference)") }
        #expect(total > 1000, "the reference run found too few files")
        let required = python.isExact ? 99.0 : 95.0
        if python.isExact {
            #expect(failures.isEmpty, "\(failures.count) files that CPython accepts failed to parse")
        }
        #expect(percent >= required, "only \(identical) of \(total) files dump identically")
        #expect(rejectedByBoth == rejectedByCPython, "some files CPython rejects parsed without error")
    }

    private func excerptAtFirstDifference(_ a: String, _ b: String) -> String {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var i = 0
        while i < x.count && i < y.count && x[i] == y[i] { i += 1 }
        let start = max(0, i - 60)
        return "…" + String(decoding: x[start..<min(x.count, i + 60)], as: UTF8.self) + "…"
    }
}
