import GaiaCore

/// The control policies a simulation compares. Gaia's and the static ones are Gaia's own
/// `FunctionController` (GaiaCore), the code `gaia serve` runs, unchanged; the others model
/// published systems.
public enum PolicyKind: String, Sendable, Hashable, CaseIterable {
    /// Gaia: the function's analyzed mode on the whole ladder, the mode controller, the autoscaler
    /// and adaptive keep-alive (`FunctionController`).
    case gaia
    /// Pinned to the largest CPU rung (`FunctionController` with a one-rung ladder, as
    /// `gaia deploy --rung cpu-N`).
    case staticCPU = "static-cpu"
    /// Pinned to a whole GPU (as `--rung gpu0`).
    case staticGPU = "static-gpu"
    /// The published Gaia prototype: every 30 s, promote to the GPU when p95 over 10 minutes is
    /// over 1,000 ms; return to the CPU when the GPU did not improve it by 200 ms; every switch
    /// redeploys the Knative service, so the next request waits for a cold start.
    case gaiaPrototype = "gaia-prototype"
    /// Knative with a whole GPU per instance: KPA horizontal scaling (Gaia's `Autoscaler`, the
    /// same algorithm), a fixed keep-alive, no pre-warming.
    case knative
    /// FaST-GShare: every instance on a fixed SM share of a GPU (`SimulationSettings.fastGShareSM`,
    /// through MPS), scaled horizontally only (KPA), a fixed keep-alive.
    case fastGShare = "fast-gshare"
    /// HAS-GPU: every instance on one SM share (`SimulationSettings.hasGPUSM`) with a time quota,
    /// scaled vertically first (the quota, no cold start), then horizontally, by the hybrid
    /// autoscaler and the performance predictor (GaiaCore's `HybridAutoscaler`, the code `gaia
    /// serve` runs on share rungs), its GPUs shared through the quota scheduler; a fixed keep-alive.
    case hasGPU = "has-gpu"

    /// Parses a comma-separated list.
    public static func list(_ text: String) throws -> [PolicyKind] {
        try text.split(separator: ",").map { name in
            guard let kind = PolicyKind(rawValue: String(name)) else {
                throw SimulationError("unknown policy '\(name)': use \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return kind
        }
    }
}

/// The prototype's rules (`gaia-prototype`), as published: thresholds on p95 over a long window,
/// evaluated every 30 s.
struct PrototypeRules: Sendable {
    var current: Backend
    let cpu: Backend
    let gpu: Backend?
    var lastCheck = 0.0
    var since = 0.0
    /// p95 on the CPU when it was promoted.
    var cpuP95BeforePromotion: Double?
    /// (time, latency ms, rung) of the last 10 minutes.
    var recent: [(t: Double, ms: Double, rung: Backend)] = []

    static let interval = 30.0
    static let window = 600.0
    static let threshold = 1000.0
    static let gap = 200.0
    static let minRate = 0.1
    static let judgeAfter = 120.0
    static let minSamples = 20

    init(start: Backend, cpu: Backend, gpu: Backend?) {
        current = start
        self.cpu = cpu
        self.gpu = gpu
    }

    mutating func record(at t: Double, ms: Double, rung: Backend) {
        recent.append((t, ms, rung))
    }

    /// The rung to switch to at `t`, if any.
    mutating func evaluate(at t: Double) -> Backend? {
        guard t - lastCheck >= Self.interval else { return nil }
        lastCheck = t
        if let first = recent.firstIndex(where: { t - $0.t <= Self.window }) { recent.removeFirst(first) } else { recent.removeAll() }
        let mine = recent.filter { $0.rung == current && $0.t >= since }.map(\.ms)
        let rate = Double(recent.filter { t - $0.t <= 60 }.count) / 60
        guard rate >= Self.minRate, mine.count >= Self.minSamples, let p95 = SLO.Statistic.p95.of(mine), let gpu else { return nil }
        if current.deviceClass == .cpu, p95 > Self.threshold {
            cpuP95BeforePromotion = p95
            return gpu
        }
        // The prototype judged a promotion 120 s after it (its idle run was demoted 120 s after the
        // promotion; its matmul run ended 97 s after one, still on the GPU).
        if current.deviceClass == .gpu, let before = cpuP95BeforePromotion, t - since >= Self.judgeAfter, before - p95 < Self.gap {
            return cpu
        }
        return nil
    }

    mutating func switched(to rung: Backend, at t: Double) {
        current = rung
        since = t
    }
}
