/// The GPU shares a ladder offers per GPU: every SM share with every time quota.
public struct ShareGrid: Sendable, Hashable, Codable {
    /// SM shares, percent of a GPU's streaming multiprocessors (set per process through MPS).
    public var smPercents: [Int]
    /// Time quotas, percent of the GPU's busy time (set and changed by the quota scheduler).
    public var quotaPercents: [Int]

    /// A grid of the given shares (each clamped to 1…100, sorted, duplicates dropped).
    public init(smPercents: [Int], quotaPercents: [Int]) {
        self.smPercents = Array(Set(smPercents.map { min(max($0, 1), 100) })).sorted()
        self.quotaPercents = Array(Set(quotaPercents.map { min(max($0, 1), 100) })).sorted()
    }

    /// The default: SM 25, 50 and 100% × quota 10…100% in steps of 10 (HAS-GPU's vertical step).
    public static let standard = ShareGrid(smPercents: [25, 50, 100], quotaPercents: Array(stride(from: 10, through: 100, by: 10)))

    /// No shares: whole GPUs only.
    public static let none = ShareGrid(smPercents: [], quotaPercents: [])

    /// The rungs of one GPU: each share of the grid, and always the whole GPU.
    public func rungs(device: Int) -> [Backend] {
        var rungs = [Backend.gpu(device: device, smPercent: 100)]
        for sm in smPercents {
            for quota in quotaPercents { rungs.append(.gpu(device: device, smPercent: sm, quotaPercent: quota)) }
        }
        return rungs
    }
}

/// The rungs one machine offers, cheapest and least capable first, and which of them a mode may use.
public struct BackendLadder: Sendable, Hashable {
    /// Every rung, in ladder order.
    public let rungs: [Backend]

    /// A ladder of the given rungs (sorted into ladder order, duplicates dropped).
    public init(rungs: [Backend]) {
        self.rungs = Array(Set(rungs)).sorted()
    }

    /// The ladder of a machine: `cpu(1)` … `cpu(cpuCores)`, then per GPU its shares (`shares`) and
    /// the whole GPU.
    public init(cpuCores: Int, gpuDevices: Int = 0, shares: ShareGrid = .none) {
        let cpu = (1...max(1, cpuCores)).map { Backend.cpu(cores: $0) }
        let gpu = (0..<max(0, gpuDevices)).flatMap { shares.rungs(device: $0) }
        self.init(rungs: cpu + gpu)
    }

    /// Whether a function may be pinned to `rung` here: a rung of the ladder, or a time-quota share
    /// of one (a CPU rung shared between functions, `cpu-1q30`).
    public func offers(_ rung: Backend) -> Bool {
        rungs.contains(rung) || rungs.contains(rung.wholeTime)
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

    /// Where a function in `mode` starts: the smallest CPU rung; for the GPU modes, where the
    /// ladder offers SM shares and the GPUs' memory is known (`gpuMemoryMiB`, of the smallest GPU),
    /// the largest SM share below a whole GPU, at full time, whose part of the memory (the share's
    /// fraction, as the runtime bounds it, less 10%) holds the instance's estimated `instanceMiB`;
    /// else a whole GPU where one exists. Nothing is measured yet: most inference leaves much of a
    /// GPU idle (ResNet-18 runs as fast on half of an H100's SMs as on all of them), so a share is
    /// the cheaper guess, and a violation promotes the function to the whole GPU, warmed first.
    public func start(for mode: ExecutionMode, instanceMiB: Int? = nil, gpuMemoryMiB: Int? = nil) -> Backend {
        let allowed = rungs(for: mode)
        switch mode {
        case .cpu, .cpuPreferred: return allowed.first { $0.deviceClass == .cpu } ?? allowed[0]
        case .gpu, .gpuPreferred:
            let whole = allowed.first { $0.deviceClass == .gpu && $0.computeShare >= Backend.gpuCoreEquivalent && !$0.isShare }
            if let whole, let gpuMemoryMiB, let instanceMiB,
                let share = allowed.last(where: { rung in
                    rung.deviceClass == .gpu && !rung.isShare && rung.smPercent < 100 && rung.gpuDevice == whole.gpuDevice
                        && Double(gpuMemoryMiB) * 0.9 * Double(rung.smPercent) / 100 >= Double(instanceMiB)
                })
            {
                return share
            }
            return whole ?? allowed.first { $0.deviceClass == .gpu } ?? allowed[0]
        }
    }
}
