import Foundation
import GaiaAnalyzer
import GaiaCore
import Testing

/// The labelled corpus: realistic functions, each with the mode a careful engineer would choose.
struct CorpusTests {
    struct Labelled {
        let name: String
        let expected: ExecutionMode
        let why: String
    }

    static func labels() throws -> (root: String, items: [Labelled]) {
        let root = try #require(Bundle.module.path(forResource: "corpus", ofType: nil, inDirectory: "Fixtures"))
        let text = try String(contentsOfFile: root + "/labels.tsv", encoding: .utf8)
        let items = try text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let mode = try #require(ExecutionMode(rawValue: fields[1]), "bad label in \(line)")
            return Labelled(name: fields[0], expected: mode, why: fields[2])
        }
        return (root, items)
    }

    @Test func classifiesTheLabelledCorpus() throws {
        let (root, items) = try Self.labels()
        #expect(items.count >= 100)
        var confusion: [ExecutionMode: [ExecutionMode: Int]] = [:]
        var wrong: [String] = []
        for item in items {
            let manifest = ExecutionModeAnalyzer().analyze(try FunctionSource.load(path: root + "/" + item.name))
            confusion[item.expected, default: [:]][manifest.mode, default: 0] += 1
            if manifest.mode != item.expected {
                wrong.append("\(item.name): expected \(item.expected) (\(item.why)), got \(manifest.rationale)")
            }
            #expect(!(item.expected == .cpu && manifest.mode == .gpu), "a cpu function was classified gpu: \(item.name)")
            #expect(!(item.expected == .gpu && manifest.mode == .cpu), "an explicit-GPU function was classified cpu: \(item.name)")
            // pf_*: modelled on other platforms' published handlers; each is run as its platform's.
            #expect(!item.name.hasPrefix("pf_") || manifest.handlerConvention != .gaia, "\(item.name): no platform convention recognised")
        }
        let modes = ExecutionMode.allCases
        let width = 15
        func pad(_ s: String) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
        var table = pad("expected\\got") + modes.map { pad($0.rawValue) }.joined() + "\n"
        for expected in modes {
            table += pad(expected.rawValue) + modes.map { pad(String(confusion[expected]?[$0] ?? 0)) }.joined() + "\n"
        }
        let correct = items.count - wrong.count
        let accuracy = Double(correct) / Double(items.count) * 100
        print("Execution mode identifier on \(items.count) labelled functions: \(correct) exact (\(String(format: "%.1f", accuracy))%)\n\(table)")
        for line in wrong { print("  WRONG \(line)") }
        #expect(accuracy >= 95, "accuracy \(accuracy)% is under the 95% target")
    }
}
