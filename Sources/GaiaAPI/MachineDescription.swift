/// The body of `GET /v1/machine`: the devices this server runs functions on, the ladder of rungs
/// built from them, and which functions sit on each rung now.
public struct MachineDescription: Codable, Sendable, Equatable {
    /// One GPU (or MIG device).
    public struct GPU: Codable, Sendable, Equatable {
        /// Its index (`gpu0`).
        public var index: Int
        /// Its model name.
        public var name: String
        /// Its UUID.
        public var uuid: String
        /// Memory, MiB.
        public var memoryTotalMiB: Int
        /// Memory in use at discovery, MiB (nil: unknown).
        public var memoryUsedMiB: Int?
        /// Busy percent at discovery (nil: unknown).
        public var utilizationPercent: Int?

        enum CodingKeys: String, CodingKey {
            case index, name, uuid
            case memoryTotalMiB = "memory_total_mib"
            case memoryUsedMiB = "memory_used_mib"
            case utilizationPercent = "utilization_percent"
        }

        /// A GPU.
        public init(index: Int, name: String, uuid: String, memoryTotalMiB: Int, memoryUsedMiB: Int? = nil, utilizationPercent: Int? = nil) {
            self.index = index
            self.name = name
            self.uuid = uuid
            self.memoryTotalMiB = memoryTotalMiB
            self.memoryUsedMiB = memoryUsedMiB
            self.utilizationPercent = utilizationPercent
        }
    }

    /// One rung of the ladder and its use now.
    public struct Rung: Codable, Sendable, Equatable {
        /// The rung (`cpu-2`, `gpu0`, `gpu0-50q30`).
        public var backend: String
        /// What an instance on it costs per second, USD.
        public var pricePerSecondUSD: Double
        /// The functions on it now.
        public var functions: [String]
        /// Their instances, running or starting.
        public var instances: Int

        enum CodingKeys: String, CodingKey {
            case backend, functions, instances
            case pricePerSecondUSD = "price_per_second_usd"
        }

        /// A rung.
        public init(backend: String, pricePerSecondUSD: Double, functions: [String], instances: Int) {
            self.backend = backend
            self.pricePerSecondUSD = pricePerSecondUSD
            self.functions = functions
            self.instances = instances
        }
    }

    /// CPU cores Gaia pins instances to.
    public var cpus: [Int]
    /// GPUs (none on a CPU-only machine).
    public var gpus: [GPU]
    /// Why GPU discovery failed, when a driver is present but did not answer.
    public var gpuProblem: String?
    /// Whether an MPS daemon runs (SM shares are offered only then).
    public var mps: Bool
    /// The rungs, cheapest first.
    public var ladder: [Rung]
    /// Where functions run when `gaia serve --cluster` (nil: on this machine).
    public var cluster: String?

    enum CodingKeys: String, CodingKey {
        case cpus, gpus, mps, ladder, cluster
        case gpuProblem = "gpu_problem"
    }

    /// A machine.
    public init(cpus: [Int], gpus: [GPU], gpuProblem: String? = nil, mps: Bool, ladder: [Rung], cluster: String? = nil) {
        self.cluster = cluster
        self.cpus = cpus
        self.gpus = gpus
        self.gpuProblem = gpuProblem
        self.mps = mps
        self.ladder = ladder
    }
}
