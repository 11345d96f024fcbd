import Foundation
import GaiaCore
import Testing

@testable import GaiaRuntime

/// GPU discovery from recorded NVML and nvidia-smi answers, and what a machine's GPUs mean for
/// instances (environment, host cores, instances per GPU).
struct GPUDiscoveryTests {
    static let h100 = "0, GPU-8f6b1a2c-3d4e-5f60-7182-93a4b5c6d7e8, NVIDIA H100 80GB HBM3, 81559, 4, 0\n"

    @Test func oneGPU() {
        let inventory = NvidiaSMI.parse(query: Self.h100, status: 0, list: nil)
        #expect(inventory.problem == nil && inventory.source == "nvidia-smi")
        #expect(inventory.gpus == [GPUDevice(
            index: 0, uuid: "GPU-8f6b1a2c-3d4e-5f60-7182-93a4b5c6d7e8", name: "NVIDIA H100 80GB HBM3", memoryTotalMiB: 81559,
            memoryUsedMiB: 4, utilizationPercent: 0)])
    }

    @Test func eightGPUsAreNumberedInOrder() {
        let query = (0..<8).map { "\($0), GPU-0000000\($0)-aaaa-bbbb-cccc-dddddddddddd, NVIDIA A100-SXM4-80GB, 81920, \($0 * 100), \($0 * 10)" }
            .joined(separator: "\n")
        let inventory = NvidiaSMI.parse(query: query, status: 0, list: nil)
        #expect(inventory.gpus.map(\.index) == Array(0..<8))
        #expect(inventory.gpus[7].uuid == "GPU-00000007-aaaa-bbbb-cccc-dddddddddddd" && inventory.gpus[7].utilizationPercent == 70)
        let machine = Machine(cpus: Array(0..<32), gpus: inventory.gpus, mps: true)
        let gpu = machine.ladder.rungs.filter { $0.deviceClass == .gpu }
        #expect(gpu.filter { !$0.isShare && $0.smPercent == 100 }.count == 8, "a whole-GPU rung per GPU")
        #expect(gpu.count == 8 * 30, "and its shares: SM 25/50/100 × quota 10…100 (SM 100 × 100 is the whole GPU)")
        #expect(gpu.last == .gpu(device: 7, smPercent: 100), "whole GPUs top the ladder")
        let shares = Machine(cpus: [0], gpus: inventory.gpus, shares: ShareGrid(smPercents: [50], quotaPercents: [50, 100]), mps: true)
        #expect(shares.ladder.rungs.filter { $0.deviceClass == .gpu }.map(\.description).prefix(3) == ["gpu0-50q50", "gpu1-50q50", "gpu2-50q50"])
        #expect(Machine(cpus: [0], gpus: inventory.gpus, shares: .none).ladder.rungs.count == 1 + 8)
        let noMPS = Machine(cpus: [0], gpus: inventory.gpus).ladder.rungs.filter { $0.deviceClass == .gpu }
        #expect(noMPS.count == 8 * 10 && noMPS.allSatisfy { $0.smPercent == 100 }, "without MPS: time quotas of whole GPUs only")
        #expect(!Machine.mpsRunning(environment: ["CUDA_MPS_PIPE_DIRECTORY": "/nonexistent"]))
        #expect(machine.environment(for: .gpu(device: 7, smPercent: 100))["CUDA_VISIBLE_DEVICES"] == "GPU-00000007-aaaa-bbbb-cccc-dddddddddddd")
    }

    @Test func noDevicesAndNoGPUAreNotProblems() {
        let none = NvidiaSMI.parse(query: "No devices were found\n", status: 6, list: nil)
        #expect(none.gpus.isEmpty && none.problem == nil)
        let empty = NvidiaSMI.parse(query: "", status: 0, list: nil)
        #expect(empty.gpus.isEmpty && empty.problem == nil)
    }

    @Test func aDriverErrorIsAProblemWithNvidiaSMIsOwnWords() {
        let output = """
            NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.

            """
        let inventory = NvidiaSMI.parse(query: output, status: 9, list: nil)
        #expect(inventory.gpus.isEmpty)
        #expect(inventory.problem?.hasPrefix("nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate") == true)
    }

    @Test func aMIGEnabledGPUIsOfferedAsItsMIGDevices() {
        let query = """
            0, GPU-e91edf3b-b297-37c1-a2a7-7601c3238fa2, NVIDIA A100-SXM4-40GB, 40960, 0, [N/A]
            1, GPU-11111111-2222-3333-4444-555555555555, NVIDIA A100-SXM4-40GB, 40960, 10, 3
            """
        let list = """
            GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-e91edf3b-b297-37c1-a2a7-7601c3238fa2)
              MIG 3g.20gb     Device  0: (UUID: MIG-a3d1d1c8-63b7-5b6b-8b8d-1d0a0b1c2d3e)
              MIG 1g.5gb      Device  1: (UUID: MIG-b4e2e2d9-74c8-6c7c-9c9e-2e1b1c2d3e4f)
            GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-11111111-2222-3333-4444-555555555555)
            """
        let inventory = NvidiaSMI.parse(query: query, status: 0, list: list)
        #expect(inventory.gpus.map(\.uuid) == [
            "MIG-a3d1d1c8-63b7-5b6b-8b8d-1d0a0b1c2d3e", "MIG-b4e2e2d9-74c8-6c7c-9c9e-2e1b1c2d3e4f", "GPU-11111111-2222-3333-4444-555555555555",
        ])
        #expect(inventory.gpus.map(\.memoryTotalMiB) == [20480, 5120, 40960])
        #expect(inventory.gpus.map(\.migParent) == [0, 0, nil])
        #expect(inventory.gpus[0].name == "NVIDIA A100-SXM4-40GB MIG 3g.20gb" && inventory.gpus[0].utilizationPercent == nil)
    }

    @Test func nvmlRecordsBecomeDevicesAndMIGParentsAreReplaced() {
        let records: [GPUInventory.NVMLRecord] = [
            .init(index: 0, uuid: "GPU-aaaa", name: "NVIDIA H100 80GB HBM3", memoryTotal: 85_520_809_984, memoryUsed: 553_648_128, utilization: 37),
            .init(index: 1, uuid: "GPU-bbbb", name: "NVIDIA A100-SXM4-40GB", memoryTotal: 42_949_672_960, memoryUsed: 0, utilization: nil, migEnabled: true),
            .init(index: 1, parent: 1, uuid: "MIG-cccc", name: "NVIDIA A100-SXM4-40GB MIG 1g.5gb", memoryTotal: 5_368_709_120, memoryUsed: 0, utilization: nil),
        ]
        let inventory = GPUInventory.fromNVML(records)
        #expect(inventory.source == "nvml")
        #expect(inventory.gpus.map(\.uuid) == ["GPU-aaaa", "MIG-cccc"])
        #expect(inventory.gpus.map(\.index) == [0, 1])
        #expect(inventory.gpus[0].memoryTotalMiB == 81559 && inventory.gpus[0].memoryUsedMiB == 528 && inventory.gpus[0].utilizationPercent == 37)
        #expect(inventory.gpus[1].memoryTotalMiB == 5120 && inventory.gpus[1].migParent == 1)
    }

    @Test func discoveryOnThisMachineAnswersAndNeverTraps() {
        // Whatever this machine has: with no driver, NVML is not installed and there is no GPU.
        let inventory = GPUInventory.discover()
        if case .failure(.notInstalled) = GPUInventory.queryNVML(), !FileManager.default.fileExists(atPath: "/dev/nvidia0") {
            #expect(inventory.gpus.isEmpty)
        }
        print("GPU discovery here: \(inventory.gpus.count) GPU(s) from \(inventory.source); problem: \(inventory.problem ?? "none")")
    }

    @Test func aGPURungSeesOneGPUAsCudaZeroWithItsHostCores() {
        let gpu = GPUDevice(index: 0, uuid: "GPU-aaaa", name: "H100", memoryTotalMiB: 81559)
        let machine = Machine(cpus: [0, 1, 2, 3], gpus: [gpu], gpuHostCores: 2)
        let env = machine.environment(for: .gpu(device: 0, smPercent: 100))
        #expect(env["CUDA_VISIBLE_DEVICES"] == "GPU-aaaa" && env["GAIA_DEVICE"] == "cuda:0" && env["OMP_NUM_THREADS"] == "2")
        #expect(env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == nil)
        #expect(machine.environment(for: .gpu(device: 0, smPercent: 50))["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "50")
        let cpu = machine.environment(for: .cpu(cores: 3))
        #expect(cpu["CUDA_VISIBLE_DEVICES"] == "" && cpu["GAIA_DEVICE"] == "cpu" && cpu["OMP_NUM_THREADS"] == "3")
        #expect(machine.cores(forInstance: 1, on: .gpu(device: 0, smPercent: 100)) == [0, 1])
        #expect(machine.cores(forInstance: 2, on: .gpu(device: 0, smPercent: 100)) == [2, 3])
        // Instances per GPU from memory: 90% of 81,559 MiB over 20,000 MiB each.
        #expect(machine.gpuInstanceLimit(on: .gpu(device: 0, smPercent: 100), perInstanceMiB: 20_000) == 3)
        #expect(machine.gpuInstanceLimit(on: .gpu(device: 0, smPercent: 100), perInstanceMiB: 200_000) == 1)
        #expect(machine.gpuInstanceLimit(on: .cpu(cores: 1), perInstanceMiB: 1) == nil)
        let standIn = Machine(cpus: [0], gpus: [.standIn(index: 0)]).environment(for: .gpu(device: 0, smPercent: 100))
        #expect(standIn["CUDA_VISIBLE_DEVICES"] == "" && standIn["GAIA_DEVICE"] == "cpu" && standIn["GAIA_GPU_STAND_IN"] == "1")
    }

    @Test func gpuMemoryPerInstanceGrowsWithTheModel() {
        #expect(WorkEstimate().gpuMemoryMiB == 1024)
        #expect(WorkEstimate(modelParameters: 1.1e9).gpuMemoryMiB == 1024 + 8393)
    }
}
