import CGaiaNVML
import Foundation

/// One GPU Gaia may place instances on: a whole NVIDIA GPU or a MIG device of one.
public struct GPUDevice: Sendable, Hashable, Codable {
    /// Gaia's number for it: the `N` of the ladder's `gpuN` rungs (0, 1, … in discovery order).
    public var index: Int
    /// What `CUDA_VISIBLE_DEVICES` takes to show an instance this device alone (`GPU-…`, `MIG-…`).
    public var uuid: String
    /// The product name (`NVIDIA H100 80GB HBM3`, `… MIG 1g.10gb`).
    public var name: String
    /// Memory, MiB.
    public var memoryTotalMiB: Int
    /// Memory in use when last sampled, MiB (nil: unknown).
    public var memoryUsedMiB: Int?
    /// Percent of the last sample period a kernel ran (nil: unknown, as for MIG devices).
    public var utilizationPercent: Int?
    /// For a MIG device, the index (as the driver numbers it) of the GPU it is part of.
    public var migParent: Int?
    /// A stand-in for a GPU on a machine without one, for tests and dry runs: instances on its rung
    /// are real fresh processes started the GPU way, but they run on the CPU (`context.device` is
    /// `"cpu"` and `GAIA_GPU_STAND_IN=1` is set). Never discovered; only configured.
    public var standIn: Bool

    /// A device.
    public init(
        index: Int, uuid: String, name: String, memoryTotalMiB: Int, memoryUsedMiB: Int? = nil,
        utilizationPercent: Int? = nil, migParent: Int? = nil, standIn: Bool = false
    ) {
        self.index = index
        self.uuid = uuid
        self.name = name
        self.memoryTotalMiB = memoryTotalMiB
        self.memoryUsedMiB = memoryUsedMiB
        self.utilizationPercent = utilizationPercent
        self.migParent = migParent
        self.standIn = standIn
    }

    /// A CPU stand-in for GPU `index` with `memoryMiB` of pretend memory (see `standIn`).
    public static func standIn(index: Int, memoryMiB: Int = 16_384) -> GPUDevice {
        GPUDevice(
            index: index, uuid: "STAND-IN-\(index)", name: "CPU stand-in for a GPU (no GPU on this machine)",
            memoryTotalMiB: memoryMiB, standIn: true)
    }
}

/// What GPU discovery found, how, and what went wrong when it found nothing.
public struct GPUInventory: Sendable, Hashable {
    /// The devices, numbered 0… in order.
    public var gpus: [GPUDevice]
    /// Where the answer came from: `nvml`, `nvidia-smi`, `configured` or `none`.
    public var source: String
    /// Why no GPU is used although a driver or device may be there (a driver error, say); nil when
    /// discovery worked, or when the machine plainly has no NVIDIA driver.
    public var problem: String?

    /// An inventory.
    public init(gpus: [GPUDevice], source: String, problem: String? = nil) {
        self.gpus = gpus
        self.source = source
        self.problem = problem
    }

    /// Discovers this machine's GPUs: NVML (loaded at run time, so a machine without a driver
    /// needs nothing), else `nvidia-smi`, else none. MIG-enabled GPUs are offered as their MIG
    /// devices.
    public static func discover() -> GPUInventory {
        let nvml = queryNVML()
        if case .success(let records) = nvml, !records.isEmpty { return fromNVML(records) }
        var problems: [String] = []
        if case .failure(.failed(let message)) = nvml { problems.append(message) }
        if let smi = NvidiaSMI.run() {
            let inventory = NvidiaSMI.parse(query: smi.query, status: smi.status, list: smi.list)
            if !inventory.gpus.isEmpty { return inventory }
            if let problem = inventory.problem { problems.append(problem) }
        }
        let deviceFiles = FileManager.default.fileExists(atPath: "/dev/nvidia0")
        if problems.isEmpty && deviceFiles {
            problems.append("/dev/nvidia0 exists but neither NVML nor nvidia-smi is installed to describe it")
        }
        return GPUInventory(gpus: [], source: "none", problem: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

    // MARK: NVML

    /// One device as NVML reported it.
    public struct NVMLRecord: Sendable, Hashable {
        /// NVML's index of the GPU (of its parent for a MIG device).
        public var index: Int
        /// The parent GPU's index for a MIG device.
        public var parent: Int?
        /// `GPU-…` or `MIG-…`.
        public var uuid: String
        /// Product name.
        public var name: String
        /// Bytes.
        public var memoryTotal: UInt64
        /// Bytes.
        public var memoryUsed: UInt64
        /// Percent, nil when not supported.
        public var utilization: Int?
        /// Whether the GPU is in MIG mode.
        public var migEnabled: Bool

        /// A record.
        public init(
            index: Int, parent: Int? = nil, uuid: String, name: String, memoryTotal: UInt64, memoryUsed: UInt64,
            utilization: Int?, migEnabled: Bool = false
        ) {
            self.index = index
            self.parent = parent
            self.uuid = uuid
            self.name = name
            self.memoryTotal = memoryTotal
            self.memoryUsed = memoryUsed
            self.utilization = utilization
            self.migEnabled = migEnabled
        }
    }

    /// Why NVML gave no answer.
    public enum NVMLFailure: Error, Sendable, Hashable {
        /// `libnvidia-ml.so.1` is not installed.
        case notInstalled
        /// NVML is there but failed (driver not loaded, insufficient permissions…).
        case failed(String)
    }

    /// Asks NVML for every device.
    public static func queryNVML() -> Result<[NVMLRecord], NVMLFailure> {
        var devices = [gaia_nvml_device](repeating: gaia_nvml_device(), count: 128)
        var error = [CChar](repeating: 0, count: 256)
        let count = gaia_nvml_query(&devices, Int32(devices.count), &error, Int32(error.count))
        let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if count == -1 { return .failure(.notInstalled) }
        if count < 0 { return .failure(.failed(message)) }
        return .success(devices.prefix(Int(count)).map { d in
            var d = d
            return NVMLRecord(
                index: Int(d.index), parent: d.parent >= 0 ? Int(d.parent) : nil, uuid: cString(&d.uuid),
                name: cString(&d.name), memoryTotal: d.memory_total, memoryUsed: d.memory_used,
                utilization: d.utilization >= 0 ? Int(d.utilization) : nil, migEnabled: d.mig_enabled != 0)
        })
    }

    private static func cString<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// The inventory from NVML's records: whole GPUs, except that a GPU in MIG mode is replaced by
    /// its MIG devices (a MIG-enabled GPU without any is left out: nothing can run on it).
    public static func fromNVML(_ records: [NVMLRecord]) -> GPUInventory {
        var gpus: [GPUDevice] = []
        for record in records where !record.migEnabled {
            gpus.append(GPUDevice(
                index: gpus.count, uuid: record.uuid, name: record.name, memoryTotalMiB: Int(record.memoryTotal >> 20),
                memoryUsedMiB: Int(record.memoryUsed >> 20), utilizationPercent: record.utilization, migParent: record.parent))
        }
        return GPUInventory(gpus: gpus, source: "nvml")
    }
}

/// The `nvidia-smi` fallback: runs it and parses what it prints.
public enum NvidiaSMI {
    /// The query Gaia runs.
    public static let queryArguments = [
        "--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu", "--format=csv,noheader,nounits",
    ]

    /// Runs `nvidia-smi` (query, then `-L` for MIG devices); nil when it is not installed.
    static func run() -> (query: String, status: Int32, list: String?)? {
        guard let path = findExecutable("nvidia-smi") else { return nil }
        guard let (status, output) = try? ShortCommand.run(path, queryArguments, includingStderr: true) else { return nil }
        let list = status == 0 ? (try? ShortCommand.run(path, ["-L"])).flatMap { $0.status == 0 ? $0.output : nil } : nil
        return (output, status, list)
    }

    /// Parses the query's CSV (`index, uuid, name, MiB total, MiB used, utilization`), an exit
    /// status, and `nvidia-smi -L` (which lists MIG devices under their GPU). A failed run (driver
    /// error, no devices) is a problem with nvidia-smi's own first line.
    public static func parse(query: String, status: Int32, list: String?) -> GPUInventory {
        let lines = query.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard status == 0 else {
            let reason = lines.first ?? "exit status \(status)"
            if reason.hasPrefix("No devices were found") { return GPUInventory(gpus: [], source: "nvidia-smi") }
            return GPUInventory(gpus: [], source: "nvidia-smi", problem: "nvidia-smi failed: \(reason)")
        }
        let mig = migDevices(list ?? "")
        var gpus: [GPUDevice] = []
        var skipped: [String] = []
        for line in lines {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 6, let index = Int(fields[0]), fields[1].hasPrefix("GPU-") else {
                skipped.append(line)
                continue
            }
            if let children = mig[fields[1]] {
                for child in children {
                    gpus.append(GPUDevice(
                        index: gpus.count, uuid: child.uuid, name: "\(fields[2]) MIG \(child.profile)",
                        memoryTotalMiB: child.memoryMiB, migParent: index))
                }
                continue
            }
            gpus.append(GPUDevice(
                index: gpus.count, uuid: fields[1], name: fields[2], memoryTotalMiB: Int(fields[3]) ?? 0,
                memoryUsedMiB: Int(fields[4]), utilizationPercent: Int(fields[5])))
        }
        let problem = gpus.isEmpty && !skipped.isEmpty ? "nvidia-smi printed no device Gaia understands: \(skipped[0])" : nil
        return GPUInventory(gpus: gpus, source: "nvidia-smi", problem: problem)
    }

    /// MIG devices per GPU UUID from `nvidia-smi -L`:
    /// `GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-…)` then `  MIG 3g.20gb Device 0: (UUID: MIG-…)`.
    static func migDevices(_ list: String) -> [String: [(profile: String, memoryMiB: Int, uuid: String)]] {
        var result: [String: [(profile: String, memoryMiB: Int, uuid: String)]] = [:]
        var gpu: String?
        for line in list.split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard let uuidRange = text.range(of: "(UUID: ") else { continue }
            let uuid = String(text[uuidRange.upperBound...].prefix { $0 != ")" })
            if text.hasPrefix("GPU ") {
                gpu = uuid
            } else if text.hasPrefix("MIG "), let gpu {
                let profile = String(text.dropFirst(4).prefix { !$0.isWhitespace })
                result[gpu, default: []].append((profile, memoryMiB(ofProfile: profile), uuid))
            }
        }
        return result
    }

    /// A MIG profile's memory: `1g.10gb` → 10,240 MiB.
    static func memoryMiB(ofProfile profile: String) -> Int {
        guard let gb = profile.split(separator: ".").last, gb.hasSuffix("gb"), let value = Int(gb.dropLast(2)) else { return 0 }
        return value * 1024
    }

    private static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
