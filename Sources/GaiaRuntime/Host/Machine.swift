import Foundation
public import GaiaCore

/// What this machine offers the ladder: the cores Gaia may use and the GPUs it can see.
public struct Machine: Sendable, Hashable {
    /// The CPUs this process may run on (its affinity), in order.
    public var cpus: [Int]
    /// The GPUs, numbered as the ladder's `gpuN` rungs.
    public var gpus: [GPUDevice]
    /// Why GPUs that may be there are not used (a driver error, say), from discovery.
    public var gpuProblem: String?
    /// Host cores a GPU instance is pinned to, for its framework's CPU side (data loading,
    /// tokenisation, kernel launches).
    public var gpuHostCores: Int
    /// The shares of each GPU the ladder offers beside the whole GPU.
    public var shares: ShareGrid
    /// Whether an MPS control daemon runs, so that an SM share can be enforced
    /// (`CUDA_MPS_ACTIVE_THREAD_PERCENTAGE`); without it the ladder offers time quotas of whole GPUs only.
    public var mps: Bool
    /// Memory this process may use, MiB: the machine's, or its cgroup's limit where lower (nil: unknown).
    public var memoryMiB: Int?
    /// Processes this server may start, its own limit or its cgroup's (nil: unknown or unlimited).
    public var processLimit: Int?

    /// A machine with the given resources.
    public init(
        cpus: [Int], gpus: [GPUDevice] = [], gpuProblem: String? = nil, gpuHostCores: Int = 2, shares: ShareGrid = .standard, mps: Bool = false,
        memoryMiB: Int? = nil, processLimit: Int? = nil
    ) {
        self.memoryMiB = memoryMiB
        self.processLimit = processLimit
        self.cpus = cpus.isEmpty ? [0] : cpus
        self.gpus = gpus
        self.gpuProblem = gpuProblem
        self.gpuHostCores = max(1, gpuHostCores)
        self.shares = shares
        self.mps = mps
    }

    /// The machine this process runs on: `Cpus_allowed_list` of /proc/self/status (the affinity
    /// mask, which containers and `taskset` narrow), and the GPUs NVML or nvidia-smi report.
    public static func discover() -> Machine {
        var cpus: [Int] = []
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        {
            cpus = parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count)))
        }
        if cpus.isEmpty { cpus = Array(0..<ProcessInfo.processInfo.activeProcessorCount) }
        let inventory = GPUInventory.discover()
        return Machine(
            cpus: cpus, gpus: inventory.gpus, gpuProblem: inventory.problem, mps: mpsRunning(), memoryMiB: discoverMemoryMiB(),
            processLimit: discoverProcessLimit())
    }

    /// Instances this machine can run at once, of all functions together (`InstanceCapacity`):
    /// from its cores, memory and process limit, unless the operator set `max_instances`.
    public func instanceCapacity(operatorLimit: Int? = nil) -> InstanceCapacity {
        InstanceCapacity(cores: cpus.count, memoryMiB: memoryMiB, processLimit: processLimit, operatorLimit: operatorLimit)
    }

    /// `MemTotal` of /proc/meminfo, or the memory cgroup's limit where lower (v2 `memory.max`, v1
    /// `memory.limit_in_bytes` of the cgroup this process is in).
    static func discoverMemoryMiB() -> Int? {
        var least: Int?
        if let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
            let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
        {
            least = kib / 1024
        }
        for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes > 0
            else { continue }
            least = min(least ?? Int.max, bytes / (1024 * 1024))
        }
        return least
    }

    /// The process limit that binds this server's children: `RLIMIT_NPROC` for a user other than
    /// root (root is not held to it), or the pids cgroup's `pids.max`; nil when neither is set.
    static func discoverProcessLimit() -> Int? {
        var limits: [Int] = []
        var rlim = rlimit()
        if getuid() != 0, getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &rlim) == 0, rlim.rlim_cur < rlim_t(Int.max) {
            limits.append(Int(rlim.rlim_cur))
        }
        for file in ["/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"] {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), let n = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                limits.append(n)
            }
        }
        return limits.min()
    }

    /// Whether an MPS control daemon is running: its control pipe exists in `CUDA_MPS_PIPE_DIRECTORY`
    /// (default `/tmp/nvidia-mps`), which is where clients look for it.
    public static func mpsRunning(environment: [String: String]? = nil) -> Bool {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let directory = environment["CUDA_MPS_PIPE_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp/nvidia-mps"
        return FileManager.default.fileExists(atPath: directory + "/control")
    }

    /// The shares the ladder offers here: the configured grid where MPS runs; without it only time
    /// quotas of whole GPUs (an SM share could not be enforced).
    public var effectiveShares: ShareGrid {
        guard !mps, !shares.quotaPercents.isEmpty, !shares.smPercents.isEmpty else { return shares }
        return ShareGrid(smPercents: [100], quotaPercents: shares.quotaPercents)
    }

    /// Parses a kernel CPU list such as `0-3,8,10-11`.
    static func parseCPUList(_ text: String) -> [Int] {
        var cpus: [Int] = []
        for part in text.split(separator: ",") {
            let bounds = part.trimmingCharacters(in: .whitespaces).split(separator: "-").compactMap { Int($0) }
            if bounds.count == 1 { cpus.append(bounds[0]) }
            if bounds.count == 2, bounds[0] <= bounds[1] { cpus += Array(bounds[0]...bounds[1]) }
        }
        return cpus
    }

    /// Whether a GPU rung exists (a stand-in counts: its rung is served as a GPU rung).
    public var hasGPU: Bool { !gpus.isEmpty }

    /// The ladder of this machine: `cpu(1…cores)`, then per GPU its shares and the whole GPU.
    public var ladder: BackendLadder { BackendLadder(cpuCores: cpus.count, gpuDevices: gpus.count, shares: effectiveShares) }

    /// The GPU of a rung, if it is a GPU rung of this machine.
    public func gpu(of backend: Backend) -> GPUDevice? {
        guard case .gpu(let device, _, _) = backend, gpus.indices.contains(device) else { return nil }
        return gpus[device]
    }

    /// Host cores an instance on `backend` is pinned to: the rung's cores, or `gpuHostCores` for a
    /// GPU rung (at most the machine's).
    public func hostCores(for backend: Backend) -> Int {
        switch backend {
        case .cpu(let cores, _): min(max(1, cores), cpus.count)
        case .gpu: min(gpuHostCores, cpus.count)
        }
    }

    /// The cores instance `id` is pinned to on `backend`: consecutive instances take consecutive
    /// blocks of cores, wrapping around, so instances of one rung spread over the machine.
    public func cores(forInstance id: Int, on backend: Backend) -> [Int] {
        let n = hostCores(for: backend)
        let first = (max(0, id - 1) * n) % cpus.count
        return (0..<n).map { cpus[(first + $0) % cpus.count] }
    }

    /// The environment of an instance on `backend`: thread counts for its host cores, the one GPU
    /// it may see (by UUID, so CUDA numbers it `cuda:0`) or none, and `GAIA_DEVICE`, which the
    /// shim shows the handler as `context.device` (`"cuda:0"` or `"cpu"`). An SM share is set with
    /// `CUDA_MPS_ACTIVE_THREAD_PERCENTAGE` (it takes effect where an MPS control daemon runs) and
    /// bounds the instance's GPU memory to the same fraction (`GAIA_GPU_MEMORY_FRACTION`, applied
    /// by the shim through the framework's allocator), so shares do not run each other out of memory.
    public func environment(for backend: Backend) -> [String: String] {
        var environment = Self.threadEnvironment(hostCores(for: backend))
        environment["CUDA_VISIBLE_DEVICES"] = ""
        environment["GAIA_DEVICE"] = "cpu"
        guard case .gpu(_, let sm, _) = backend, let gpu = gpu(of: backend) else { return environment }
        if gpu.standIn {
            environment["GAIA_GPU_STAND_IN"] = "1"
            return environment
        }
        environment["CUDA_VISIBLE_DEVICES"] = gpu.uuid
        environment["GAIA_DEVICE"] = "cuda:0"
        if sm < 100 {
            environment["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = String(sm)
            environment["GAIA_GPU_MEMORY_FRACTION"] = String(Double(sm) / 100)
        }
        return environment
    }

    /// BLAS/OpenMP thread counts for `threads` cores.
    public static func threadEnvironment(_ threads: Int) -> [String: String] {
        let n = String(max(1, threads))
        return ["OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n, "NUMEXPR_NUM_THREADS": n, "VECLIB_MAXIMUM_THREADS": n]
    }

    /// How many instances of one function fit on the GPU of `backend` when each needs
    /// `perInstanceMiB` (at least one; nil for CPU rungs). Memory is what bounds instances on a GPU:
    /// past it CUDA fails to allocate.
    public func gpuInstanceLimit(on backend: Backend, perInstanceMiB: Int) -> Int? {
        guard let gpu = gpu(of: backend) else { return nil }
        return max(1, gpu.memoryTotalMiB * 9 / 10 / max(1, perInstanceMiB))
    }
}
