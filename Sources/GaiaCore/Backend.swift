/// The kind of device a rung runs on.
public enum DeviceClass: String, Sendable, Hashable, Codable {
    /// Host CPU cores.
    case cpu
    /// An NVIDIA GPU, or a share of one.
    case gpu
}

/// One rung of the backend ladder: where an instance runs and how much of the machine it gets.
///
/// A rung with a time quota under 100% is a *share*: its instances are admitted to their device by
/// the quota scheduler (`QuotaScheduler`) so that each gets `quotaPercent` of the device's busy time
/// while others contend for it. A GPU's SM share (`smPercent`) is set for the process at start
/// (MPS); its quota can change while it runs.
public enum Backend: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    /// A CPU instance limited to `cores` cores (affinity and thread counts), with a time quota of them.
    case cpu(cores: Int, quotaPercent: Int = 100)
    /// A GPU instance on `device` with `smPercent` of its streaming multiprocessors (100: the whole
    /// GPU) and `quotaPercent` of its time.
    case gpu(device: Int, smPercent: Int, quotaPercent: Int = 100)

    /// GPU compute counted in CPU cores when nothing has been measured yet: a prior for the latency
    /// model, replaced by measurements as soon as the rung has served traffic.
    public static let gpuCoreEquivalent = 32.0

    /// The rung's name: `cpu-2`, `cpu-1q30`, `gpu0`, `gpu0-50`, `gpu0-50q30` (SM share 50%, time quota 30%).
    public var description: String {
        let q = quotaPercent >= 100 ? "" : "q\(quotaPercent)"
        switch self {
        case .cpu(let cores, _): return "cpu-\(cores)\(q)"
        case .gpu(let device, let sm, _): return (sm >= 100 ? "gpu\(device)" : "gpu\(device)-\(sm)") + q
        }
    }

    /// Parses a rung's name (`cpu-2`, `cpu-1q30`, `gpu0`, `gpu0-50`, `gpu0-50q30`, `gpu0q30`).
    public init?(_ name: String) {
        var base = Substring(name)
        var quota = 100
        if let q = name.lastIndex(of: "q") {
            guard let value = Int(name[name.index(after: q)...]), (1...100).contains(value) else { return nil }
            quota = value
            base = name[..<q]
        }
        if base.hasPrefix("cpu-"), let cores = Int(base.dropFirst(4)), cores > 0 {
            self = .cpu(cores: cores, quotaPercent: quota)
            return
        }
        guard base.hasPrefix("gpu") else { return nil }
        let parts = base.dropFirst(3).split(separator: "-", omittingEmptySubsequences: false)
        guard let device = parts.first.flatMap({ Int($0) }), device >= 0 else { return nil }
        let sm = parts.count == 2 ? Int(parts[1]) : (parts.count == 1 ? 100 : nil)
        guard let sm, (1...100).contains(sm) else { return nil }
        self = .gpu(device: device, smPercent: sm, quotaPercent: quota)
    }

    /// CPU rungs or GPU rungs.
    public var deviceClass: DeviceClass {
        switch self {
        case .cpu: .cpu
        case .gpu: .gpu
        }
    }

    /// The GPU of a GPU rung; nil for a CPU rung.
    public var gpuDevice: Int? {
        if case .gpu(let device, _, _) = self { device } else { nil }
    }

    /// The share of its device's time the rung is guaranteed while others contend, percent.
    public var quotaPercent: Int {
        switch self {
        case .cpu(_, let q), .gpu(_, _, let q): min(max(q, 1), 100)
        }
    }

    /// The share of its device's compute an instance holds while it runs, percent (a CPU rung
    /// holds its cores whole).
    public var smPercent: Int {
        if case .gpu(_, let sm, _) = self { min(max(sm, 1), 100) } else { 100 }
    }

    /// Whether instances on this rung share their device under the quota scheduler.
    public var isShare: Bool { quotaPercent < 100 }

    /// The same rung with another time quota (a vertical change that needs no restart).
    public func withQuota(_ percent: Int) -> Backend {
        let q = min(max(percent, 1), 100)
        switch self {
        case .cpu(let cores, _): return .cpu(cores: cores, quotaPercent: q)
        case .gpu(let device, let sm, _): return .gpu(device: device, smPercent: sm, quotaPercent: q)
        }
    }

    /// The rung at full quota: what an instance runs on while it holds its device.
    public var wholeTime: Backend { withQuota(100) }

    /// Compute one invocation gets while it runs, in CPU cores: the rung's cores, or its SM share of
    /// a GPU's core equivalent (a time quota does not make one invocation faster or slower).
    public var computeShare: Double {
        switch self {
        case .cpu(let cores, _): Double(cores)
        case .gpu(_, let sm, _): Self.gpuCoreEquivalent * Double(sm) / 100
        }
    }

    /// Compute the rung offers over time, in CPU cores: its compute share times its time quota.
    public var capacity: Double { computeShare * Double(quotaPercent) / 100 }

    /// The cores of a CPU rung (1 for a GPU rung, whose host cores the machine decides).
    public var cpuCores: Int {
        if case .cpu(let cores, _) = self { max(1, cores) } else { 1 }
    }

    /// Ladder order: CPU rungs by cores (then quota), then GPU rungs by capacity (SM share × time
    /// quota), then SM share, then device.
    public static func < (a: Backend, b: Backend) -> Bool {
        switch (a, b) {
        case (.cpu(let x, let qx), .cpu(let y, let qy)): (x * qx, x) < (y * qy, y)
        case (.cpu, .gpu): true
        case (.gpu, .cpu): false
        case (.gpu(let d1, let s1, let q1), .gpu(let d2, let s2, let q2)): (s1 * q1, s1, d1) < (s2 * q2, s2, d2)
        }
    }
}
