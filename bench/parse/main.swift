// Parser throughput over a corpus of Python files: `parse-bench DIR [--rounds N]`.
// Reads every .py file under DIR into memory first, then times parsing only (best of N rounds).
// Prints files, lines, bytes, seconds, lines/s and MB/s, plus one machine-readable RESULT line.
import Foundation
import PythonSyntax

var arguments = Array(CommandLine.arguments.dropFirst())
var rounds = 5
if let i = arguments.firstIndex(of: "--rounds"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
    rounds = max(1, n)
    arguments.removeSubrange(i...(i + 1))
}
guard let root = arguments.first else {
    FileHandle.standardError.write(Data("usage: parse-bench DIR [--rounds N]\n".utf8))
    exit(2)
}
var paths: [String] = []
let enumerator = FileManager.default.enumerator(atPath: root)
while let relative = enumerator?.nextObject() as? String {
    if relative.hasPrefix("site-packages") { enumerator?.skipDescendants(); continue }
    if relative.hasSuffix(".py") { paths.append(root + "/" + relative) }
}
paths.sort()
// Like the CPython side, time only the files that are valid Python.
var files: [[UInt8]] = []
var lines = 0
var invalid = 0
for path in paths {
    guard let data = FileManager.default.contents(atPath: path) else { continue }
    let result = PythonParser.parse(bytes: Array(data))
    if result.isValid {
        files.append(Array(data))
        lines += data.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 } + 1
    } else {
        invalid += 1
    }
}
let bytes = files.reduce(0) { $0 + $1.count }
print("corpus: \(files.count) valid files (\(invalid) with syntax errors left out), \(lines) lines, \(bytes / 1_000_000) MB")
var best = Double.infinity
for round in 1...rounds {
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        for file in files { _ = PythonParser.parse(bytes: file) }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    best = min(best, seconds)
    print(String(format: "  round %d: %.3f s", round, seconds))
}
print(String(format: "gaia PythonSyntax: best %.3f s = %.0f lines/s, %.1f MB/s", best, Double(lines) / best, Double(bytes) / best / 1e6))
print(String(format: "RESULT swift_seconds=%.4f lines=%d", best, lines))
