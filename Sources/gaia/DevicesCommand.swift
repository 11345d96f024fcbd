import ArgumentParser
import Foundation
import GaiaCore
import GaiaRuntime

/// `gaia devices`: the CPUs and GPUs this machine offers Gaia, and the ladder built from them.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "Show the CPUs and GPUs Gaia will use on this machine, and the ladder of rungs built from them.",
        discussion: """
            GPUs are found through NVML (libnvidia-ml.so.1, loaded at run time), else nvidia-smi. A GPU in MIG \
            mode is offered as its MIG devices. Runs locally; it needs no server.
            """
    )

    @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
    @Option(help: "Host cores each GPU instance is pinned to (as gaia serve --gpu-host-cores).") var gpuHostCores = 2

    /// What `-o json|yaml` prints.
    struct Report: Encodable {
        var cpus: [Int]
        var gpus: [GPUDevice]
        var gpuProblem: String?
        var gpuHostCores: Int
        var ladder: [String]
    }

    func run() throws {
        var machine = Machine.discover()
        machine.gpuHostCores = max(1, gpuHostCores)
        let report = Report(
            cpus: machine.cpus, gpus: machine.gpus, gpuProblem: machine.gpuProblem,
            gpuHostCores: machine.hostCores(for: .gpu(device: 0, smPercent: 100)), ladder: machine.ladder.rungs.map(\.description))
        if try output.print(report) { return }
        print(Self.text(machine))
    }

    /// The summary for people.
    static func text(_ machine: Machine) -> String {
        var lines = ["CPUs: \(machine.cpus.count) (\(cpuList(machine.cpus)))"]
        if machine.gpus.isEmpty {
            lines.append("GPUs: none" + (machine.gpuProblem.map { " (\($0))" } ?? " (no NVIDIA driver on this machine)"))
            lines.append("      functions run on CPU rungs only; a function the analyzer finds needs a GPU is refused unless deployed with --mode")
        } else {
            lines.append("GPUs: \(machine.gpus.count)")
            for gpu in machine.gpus {
                var details = ["\(gpu.memoryTotalMiB) MiB"]
                if let used = gpu.memoryUsedMiB { details.append("\(used) MiB used") }
                if let utilization = gpu.utilizationPercent { details.append("\(utilization)% busy") }
                if let parent = gpu.migParent { details.append("MIG device of GPU \(parent)") }
                lines.append("  gpu\(gpu.index)  \(gpu.name)  \(gpu.uuid)  " + details.joined(separator: ", "))
            }
            lines.append("      each GPU instance gets \(machine.hostCores(for: .gpu(device: 0, smPercent: 100))) host core(s)")
            lines.append(
                machine.mps
                    ? "      MPS: running; SM shares \(machine.shares.smPercents.map { "\($0)%" }.joined(separator: ", ")) × time quotas \(machine.shares.quotaPercents.map { "\($0)%" }.joined(separator: ", "))"
                    : "      MPS: not running (no control pipe); GPU shares are time quotas of whole GPUs only. Start it with nvidia-cuda-mps-control -d for SM shares")
        }
        lines.append("Ladder: " + machine.ladder.rungs.map(\.description).joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    /// `0-3,8`.
    static func cpuList(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < cpus.count {
            var j = i
            while j + 1 < cpus.count && cpus[j + 1] == cpus[j] + 1 { j += 1 }
            parts.append(i == j ? "\(cpus[i])" : "\(cpus[i])-\(cpus[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
