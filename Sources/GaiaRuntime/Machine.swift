import Foundation
public import GaiaCore

/// What this machine offers the ladder: the cores Gaia may use and the GPUs it can see.
public struct Machine: Sendable, Hashable {
    /// The CPUs this process may run on (its affinity), in order.
    public var cpus: [Int]
    /// NVIDIA devices visible (`/dev/nvidia0`, …).
    public var gpuDevices: Int

    /// A machine with the given resources.
    public init(cpus: [Int], gpuDevices: Int = 0) {
        self.cpus = cpus.isEmpty ? [0] : cpus
        self.gpuDevices = max(0, gpuDevices)
    }

    /// The machine this process runs on: `Cpus_allowed_list` of /proc/self/status (the affinity
    /// mask, which containers and `taskset` narrow), and the `/dev/nvidiaN` devices.
    public static func discover() -> Machine {
        var cpus: [Int] = []
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        {
            cpus = parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count)))
        }
        if cpus.isEmpty { cpus = Array(0..<ProcessInfo.processInfo.activeProcessorCount) }
        let devices = (0..<64).prefix { FileManager.default.fileExists(atPath: "/dev/nvidia\($0)") }.count
        return Machine(cpus: cpus, gpuDevices: devices)
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

    /// The ladder of this machine: `cpu(1…cores)`, then a whole-GPU rung per device.
    public var ladder: BackendLadder { BackendLadder(cpuCores: cpus.count, gpuDevices: gpuDevices) }

    /// The cores instance `id` is pinned to on `backend`: consecutive instances take consecutive
    /// blocks of cores, wrapping around, so instances of one rung spread over the machine.
    public func cores(forInstance id: Int, on backend: Backend) -> [Int] {
        let n = min(max(1, backend.hostCores), cpus.count)
        let first = (max(0, id - 1) * n) % cpus.count
        return (0..<n).map { cpus[(first + $0) % cpus.count] }
    }
}
