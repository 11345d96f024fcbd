/// Prices per second in USD (the figures of Gaia's evaluation by default; configurable).
public struct PriceTable: Sendable, Hashable, Codable {
    /// One vCPU for one second.
    public var vcpuSecond: Double = 0.000034
    /// One GiB of memory for one second.
    public var memoryGiBSecond: Double = 0.000004
    /// One whole GPU for one second, on top of its host share.
    public var gpuSecond: Double = 0.000095
    /// Memory assumed per CPU instance, GiB.
    public var memoryGiBPerInstance: Double = 1

    /// The defaults.
    public init() {}

    /// Price of one second on a rung: its cores and memory, plus its share of a GPU (host share: one core).
    public func perSecond(_ backend: Backend) -> Double {
        switch backend {
        case .cpu(let cores, let quota): Double(cores) * vcpuSecond * Double(quota) / 100 + memoryGiBPerInstance * memoryGiBSecond
        case .gpu(_, let sm, let quota):
            vcpuSecond + memoryGiBPerInstance * memoryGiBSecond + gpuSecond * Double(sm) / 100 * Double(quota) / 100
        }
    }

    /// Pay-per-use cost of `seconds` on a rung.
    public func cost(seconds: Double, on backend: Backend) -> Double { seconds * perSecond(backend) }
}
