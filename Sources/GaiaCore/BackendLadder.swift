/// The rungs one machine offers, cheapest and least capable first, and which of them a mode may use.
public struct BackendLadder: Sendable, Hashable {
    /// Every rung, in ladder order.
    public let rungs: [Backend]

    /// A ladder of the given rungs (sorted into ladder order, duplicates dropped).
    public init(rungs: [Backend]) {
        self.rungs = Array(Set(rungs)).sorted()
    }

    /// The ladder of a machine: `cpu(1)` … `cpu(cpuCores)`, then one whole-GPU rung per device.
    /// (GPU shares slot in as further `.gpu(device:smPercent:)` rungs.)
    public init(cpuCores: Int, gpuDevices: Int = 0) {
        let cpu = (1...max(1, cpuCores)).map { Backend.cpu(cores: $0) }
        let gpu = (0..<max(0, gpuDevices)).map { Backend.gpu(device: $0, smPercent: 100) }
        self.init(rungs: cpu + gpu)
    }

    /// The rungs a function in `mode` may run on, in ladder order. `cpu` keeps to CPU rungs; `gpu`
    /// keeps to GPU rungs, or CPU rungs on a machine without a GPU (a user who forced it was warned
    /// at deploy); the preferred modes may use every rung.
    public func rungs(for mode: ExecutionMode) -> [Backend] {
        let cpu = rungs.filter { $0.deviceClass == .cpu }
        let gpu = rungs.filter { $0.deviceClass == .gpu }
        switch mode {
        case .cpu: return cpu
        case .cpuPreferred, .gpuPreferred: return rungs
        case .gpu: return gpu.isEmpty ? cpu : gpu
        }
    }

    /// Where a function in `mode` starts: the smallest CPU rung, or for the GPU modes the smallest
    /// GPU rung where one exists.
    public func start(for mode: ExecutionMode) -> Backend {
        let allowed = rungs(for: mode)
        switch mode {
        case .cpu, .cpuPreferred: return allowed.first { $0.deviceClass == .cpu } ?? allowed[0]
        case .gpu, .gpuPreferred: return allowed.first { $0.deviceClass == .gpu } ?? allowed[0]
        }
    }
}
