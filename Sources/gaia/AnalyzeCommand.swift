public import ArgumentParser
import Foundation
import GaiaAnalyzer
public import GaiaCore

extension ExecutionMode: ExpressibleByArgument {}

/// `gaia analyze PATH`: the Execution Mode Identifier on its own.
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Decide where a Python function should run (cpu, cpu_preferred, gpu_preferred, gpu) and show why.",
        discussion: """
            PATH is a .py file or a folder (entry point handler.py, main.py, app.py, or the file defining \
            handle). Local modules the entry point imports are analyzed too. Files with syntax errors still \
            get a best-effort decision from the partial tree, marked as partial; the exit code is then 1.
            """
    )

    @Argument(help: "The function: a .py file or a folder.")
    var path: String

    @Option(help: "The function's name (default: the folder or file name).")
    var name: String?

    @Option(help: "Force a mode (\(ExecutionMode.allCases.map(\.rawValue).joined(separator: ", "))); recorded as an override.")
    var mode: ExecutionMode?

    @Flag(help: "Print the manifest as JSON.")
    var json = false

    @Flag(help: "Print the manifest as YAML.")
    var yaml = false

    func validate() throws {
        if json && yaml { throw ValidationError("choose one of --json and --yaml") }
    }

    func run() throws {
        let source: FunctionSource
        do {
            source = try FunctionSource.load(path: path)
        } catch let error as AnalyzerError {
            throw CLIError(description: error.description)
        }
        let manifest = ExecutionModeAnalyzer().analyze(source, name: name, override: mode)
        if json {
            print(String(decoding: try manifest.jsonData(), as: UTF8.self))
        } else if yaml {
            print(try manifest.yaml(), terminator: "")
        } else {
            print(Self.render(manifest))
        }
        for diagnostic in manifest.diagnostics {
            FileHandle.standardError.write(Data((diagnostic + "\n").utf8))
        }
        if manifest.partial { throw ExitCode(1) }
    }

    /// The human-readable report.
    static func render(_ m: FunctionManifest) -> String {
        var lines: [String] = []
        let forced = m.modeOverride.map { " (forced by --mode; detected \($0 == m.detectedMode ? "the same" : m.detectedMode.rawValue))" } ?? ""
        lines.append("\(m.name): \(m.mode)\(forced)   confidence \(String(format: "%.2f", m.confidence))\(m.partial ? "   PARTIAL" : "")")
        lines.append("  \(m.rationale)")
        if let slo = m.slo { lines.append("  slo: \(slo)") }
        let convention = m.handlerConvention
        let shape = convention == .gaia ? "Gaia's handle(payload, context)" : "a \(convention.platform) handler, run unchanged"
        lines.append("  handler: \(m.handler) in \(m.entryPoint) (\(shape))")
        lines.append("  frameworks: \(m.frameworks.isEmpty ? "none" : m.frameworks.joined(separator: ", "))")
        var work: [String] = []
        if let p = m.estimatedWork.modelParameters { work.append("model ~\(humanCount(p)) parameters") }
        if let f = m.estimatedWork.flops { work.append("~\(humanCount(f)) FLOPs per operation") }
        if let t = m.estimatedWork.maxTensorElements { work.append("largest tensor \(humanCount(t)) elements") }
        if m.estimatedWork.generates { work.append("generates tokens") }
        if m.estimatedWork.tensorWorkInLoop { work.append("tensor work in a loop") }
        if !work.isEmpty { lines.append("  estimated work: " + work.joined(separator: ", ")) }
        if !m.evidence.isEmpty {
            lines.append("  evidence:")
            for e in m.evidence {
                lines.append("    \(e.location.padding(toLength: max(14, e.location.count), withPad: " ", startingAt: 0))  \(e.kind.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0))  \(e.detail)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
