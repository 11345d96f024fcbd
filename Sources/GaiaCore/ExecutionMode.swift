/// Where a function should run, as decided at deploy time.
public enum ExecutionMode: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// CPU rungs only: nothing in the code can use a GPU.
    case cpu
    /// Start on the smallest CPU rung; may climb to GPU rungs when the SLO is violated.
    case cpuPreferred = "cpu_preferred"
    /// Start on the smallest GPU rung expected to meet the SLO; may descend to CPU.
    case gpuPreferred = "gpu_preferred"
    /// GPU rungs only: the code places work on a GPU explicitly.
    case gpu

    /// The mode's name as written in manifests and on the command line.
    public var description: String { rawValue }

    /// Whether the mode may ever use a GPU rung.
    public var mayUseGPU: Bool { self != .cpu }
}
