/// The kind of device a rung runs on.
public enum DeviceClass: String, Sendable, Hashable, Codable {
    /// Host CPU cores.
    case cpu
    /// An NVIDIA GPU, or a share of one.
    case gpu
}

/// One rung of the backend ladder: where an instance runs and how much of the machine it gets.
public enum Backend: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    /// A CPU instance limited to `cores` cores (affinity and thread counts).
    case cpu(cores: Int)
    /// A GPU instance on `device` with `smPercent` of its streaming multiprocessors (100: the whole GPU).
    case gpu(device: Int, smPercent: Int)

    /// GPU compute counted in CPU cores when nothing has been measured yet: a prior for the latency
    /// model, replaced by measurements as soon as the rung has served traffic.
    public static let gpuCoreEquivalent = 32.0

    /// The rung's name: `cpu-2`, `gpu0-50`.
    public var description: String {
        switch self {
        case .cpu(let cores): "cpu-\(cores)"
        case .gpu(let device, let sm): sm >= 100 ? "gpu\(device)" : "gpu\(device)-\(sm)"
        }
    }

    /// Parses a rung's name (`cpu-2`, `gpu0`, `gpu0-50`).
    public init?(_ name: String) {
        if name.hasPrefix("cpu-"), let cores = Int(name.dropFirst(4)), cores > 0 {
            self = .cpu(cores: cores)
            return
        }
        guard name.hasPrefix("gpu") else { return nil }
        let parts = name.dropFirst(3).split(separator: "-", omittingEmptySubsequences: false)
        guard let device = parts.first.flatMap({ Int($0) }), device >= 0 else { return nil }
        let sm = parts.count == 2 ? Int(parts[1]) : (parts.count == 1 ? 100 : nil)
        guard let sm, (1...100).contains(sm) else { return nil }
        self = .gpu(device: device, smPercent: sm)
    }

    /// CPU rungs or GPU rungs.
    public var deviceClass: DeviceClass {
        switch self {
        case .cpu: .cpu
        case .gpu: .gpu
        }
    }

    /// Compute the rung offers, in CPU cores (a GPU share counts `gpuCoreEquivalent` per whole GPU).
    public var capacity: Double {
        switch self {
        case .cpu(let cores): Double(cores)
        case .gpu(_, let sm): Self.gpuCoreEquivalent * Double(sm) / 100
        }
    }

    /// The cores of a CPU rung (1 for a GPU rung, whose host cores the machine decides).
    public var cpuCores: Int {
        if case .cpu(let cores) = self { max(1, cores) } else { 1 }
    }

    /// Ladder order: CPU rungs by cores, then GPU rungs by share.
    public static func < (a: Backend, b: Backend) -> Bool {
        switch (a, b) {
        case (.cpu(let x), .cpu(let y)): x < y
        case (.cpu, .gpu): true
        case (.gpu, .cpu): false
        case (.gpu(let d1, let s1), .gpu(let d2, let s2)): (s1, d1) < (s2, d2)
        }
    }
}
