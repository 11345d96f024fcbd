public import GaiaCore

/// Gaia's Execution Mode Identifier: decides from a function's source alone where it should run.
public struct ExecutionModeAnalyzer: Sendable {
    /// The analyzer's version, recorded in every manifest.
    public static let version = "gaia-analyzer 2"

    /// Creates an analyzer.
    public init() {}

    /// Analyzes a function and returns its manifest. `override` (the user's `--mode`) wins over
    /// the detected mode and is recorded as an override. Syntax errors do not stop the analysis:
    /// the decision rests on the partial tree and the manifest says so.
    public func analyze(_ source: FunctionSource, name: String? = nil, override: ExecutionMode? = nil) -> FunctionManifest {
        let entry = source.handler
        var walker = SourceWalker(source: source, skippedClasses: entry?.siblings ?? [])
        for requirement in entry?.gpuRequirements ?? [] { walker.record(.explicitGPU, line: requirement.line, requirement.detail, weight: 1.0) }
        walker.run()
        let hints = (entry?.gpuHints ?? []).map { hint in
            Evidence(kind: .platformHint, file: source.entryPoint, line: hint.line, detail: "asks the platform for a GPU: \(hint.detail)", weight: 0)
        }
        let partial = !walker.diagnostics.isEmpty
        let decision = ModeDecision.decide(walker: walker, hints: hints, partial: partial)
        let functionName = name ?? Self.defaultName(for: source)
        var manifest = FunctionManifest(
            name: functionName, entryPoint: source.entryPoint, handler: entry?.handler ?? "handle", detectedMode: decision.mode,
            confidence: decision.confidence, rationale: decision.rationale, evidence: walker.evidence + hints,
            frameworks: walker.frameworks.sorted(), estimatedWork: walker.work, modeOverride: override,
            partial: partial, diagnostics: walker.diagnostics, analyzerVersion: Self.version)
        manifest.convention = entry?.convention
        return manifest
    }

    /// The folder's name, or the file's name without `.py`, made a valid function name.
    public static func defaultName(for source: FunctionSource) -> String {
        let base: String
        if source.files.count == 1, !FunctionSource.entryPointNames.contains(source.entryPoint) {
            base = String(source.entryPoint.dropLast(3))
        } else {
            base = String(source.root.split(separator: "/").last ?? "function")
        }
        let cleaned = base.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(cleaned).trimmingDashes.isEmpty ? "function" : String(cleaned).trimmingDashes
    }
}

extension String {
    fileprivate var trimmingDashes: String {
        String(drop { $0 == "-" }.reversed().drop { $0 == "-" }.reversed())
    }
}
