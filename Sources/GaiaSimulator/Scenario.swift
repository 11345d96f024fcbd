import Foundation
public import GaiaCore

/// A simulated workload built from command-line choices: functions, arrivals, sizes, SLO.
public enum Scenario {
    /// Parses `fixed:N`, `ramp:FROM-TO/STEP`, `uniform:LOW-HIGH`.
    public static func sizes(_ text: String) throws -> PayloadSizes {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let numbers = (parts.count > 1 ? parts[1] : "").split(whereSeparator: { $0 == "-" || $0 == "/" }).compactMap { Double($0) }
        guard numbers.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1e9 }) else { throw SimulationError("sizes out of range in '\(text)'") }
        switch (parts[0], numbers.count) {
        case ("fixed", 1): return .fixed(numbers[0])
        case ("ramp", 3) where numbers[2] > 0 && numbers[1] >= numbers[0]: return .ramp(from: numbers[0], to: numbers[1], step: numbers[2])
        case ("uniform", 2) where numbers[1] >= numbers[0]: return .uniform(low: numbers[0], high: numbers[1])
        default: throw SimulationError("sizes '\(text)': write fixed:N, ramp:FROM-TO/STEP or uniform:LOW-HIGH")
        }
    }

    /// A workload by name: one of the catalog's, or `exponential:MS`.
    public static func workload(_ name: String) throws -> Workload {
        if name.hasPrefix("exponential:"), let ms = Double(name.dropFirst(12)), ms > 0, ms <= 1e7 { return .exponential(milliseconds: ms) }
        guard let workload = Workload.catalog[name] else {
            throw SimulationError("unknown workload '\(name)': use \(Workload.catalog.keys.sorted().joined(separator: ", ")) or exponential:MS")
        }
        return workload
    }

    /// Functions from an Azure Functions 2019 trace, at most `limit`, the busiest first. Each gets
    /// one of the paper's workloads by its duration: median ≤ 250 ms → resnet18, ≤ 1,500 ms →
    /// tinyllama, longer → matmul at sizes drawn from 0–20,000; timer-triggered → idle; no duration
    /// row → resnet18.
    public static func azure(_ trace: AzureTrace, limit: Int, slo: SLO) throws -> [FunctionSpec] {
        let busiest = trace.functions.enumerated().sorted {
            let a = $0.element.perMinute.reduce(0, +), b = $1.element.perMinute.reduce(0, +)
            return a != b ? a > b : $0.offset < $1.offset
        }.prefix(limit).map(\.element)
        return try busiest.enumerated().map { index, function in
            let name: String
            var sizes = PayloadSizes.fixed(0)
            if function.trigger == "timer" {
                name = "idle"
            } else if let median = function.medianMs ?? function.averageMs, median > 250 {
                name = median <= 1500 ? "tinyllama" : "matmul"
                if name == "matmul" { sizes = .uniform(low: 0, high: 20_000) }
            } else {
                name = "resnet18"
            }
            return FunctionSpec(name: "f\(index)-\(name)", workload: try workload(name), arrivals: .perMinute(counts: function.perMinute), sizes: sizes, slo: slo)
        }
    }

    /// Runs `policies` on the same functions and settings, in parallel (each run is independent and
    /// deterministic), reporting progress to `progress` as (policy, fraction).
    public static func run(
        functions: [FunctionSpec], policies: [PolicyKind], settings: SimulationSettings,
        progress: (@Sendable (PolicyKind, Double) -> Void)? = nil
    ) async -> [SimulationResult] {
        await withTaskGroup(of: (Int, SimulationResult).self) { group in
            for (index, policy) in policies.enumerated() {
                group.addTask {
                    let simulation = Simulation(functions: functions, policy: policy, settings: settings)
                    return (index, simulation.run(progress: progress.map { report in { report(policy, $0) } }))
                }
            }
            var results: [(Int, SimulationResult)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The best static configuration in hindsight (the oracle issue 31 asks Gaia to be tested
    /// against): every full-time rung of the ladder (CPU rungs, SM shares, whole GPUs) with 1 to
    /// max scale instances held throughout (started when the run starts, a cold start each, as a
    /// deploy would), simulated on the same requests; the cheapest by provider cost whose
    /// violations stay within what every function's SLO statistic allows (p95: 5% of requests over
    /// the threshold), else the one with the fewest violations.
    /// More instances of a rung are tried only until one count meets the SLO. Every function gets
    /// the same configuration. Nil when the ladder has no rung.
    public static func oracle(functions: [FunctionSpec], settings: SimulationSettings) -> SimulationResult? {
        let allowed = functions.map { allowance($0.slo.statistic) }.min() ?? 0.05
        var best: (result: SimulationResult, meets: Bool)?
        for rung in settings.cluster.ladder.rungs where rung == rung.wholeTime {
            for n in 1...max(1, settings.autoscaler.maxScale) {
                var fixed = settings
                fixed.staticRung = rung
                fixed.autoscaler.minScale = n
                fixed.autoscaler.maxScale = n
                fixed.minScaleStartsWarm = false
                fixed.recordRequests = false
                fixed.recordDecisions = false
                var result = Simulation(functions: functions, policy: .staticCPU, settings: fixed).run()
                result.policy = "oracle"
                result.configuration = "\(n) × \(rung)"
                let meets = result.violationRate <= allowed
                let better: Bool
                switch best {
                case nil: better = true
                case let (current, currentMeets)?:
                    better = meets
                        ? !currentMeets || result.providerUSD < current.providerUSD
                        : !currentMeets && (result.violationRate, result.providerUSD) < (current.violationRate, current.providerUSD)
                }
                if better { best = (result, meets) }
                if meets { break }  // more instances of this rung cost more
            }
        }
        return best?.result
    }

    /// The share of requests an SLO statistic lets miss the threshold.
    static func allowance(_ statistic: SLO.Statistic) -> Double {
        switch statistic {
        case .p50, .mean: 0.5
        case .p90: 0.1
        case .p95: 0.05
        case .p99: 0.01
        }
    }
}
