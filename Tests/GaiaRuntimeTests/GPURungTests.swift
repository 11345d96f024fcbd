import Foundation
import GaiaCore
import GaiaStore
import Testing

@testable import GaiaRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The CPU↔GPU boundary of the Dynamic Function Runtime with real workers. The machine has one
/// core and one GPU rung whose device is a stand-in (`GPUDevice.standIn`: the instance starts the
/// GPU way, a fresh process with the GPU rung's environment and warm-up, and runs on the CPU): the
/// device is the only stand-in, so only the CUDA call itself is untested here.
@Suite(.serialized)
struct GPURungTests {
    /// Sleeps `cpu_ms` on a CPU rung and `gpu_ms` on the (stand-in) GPU rung; reports what it sees.
    static let handler = """
        import os, time

        ON_GPU_RUNG = os.environ.get("GAIA_BACKEND", "").startswith("gpu")
        warmed_up = False


        def init(context):
            if ON_GPU_RUNG and os.environ.get("GAIA_GPU_STAND_IN") == "1" and FAIL_ON_GPU:
                raise RuntimeError("CUDA error: out of memory (stand-in)")


        def warmup(context):
            global warmed_up
            time.sleep(0.2)
            warmed_up = True


        def handle(payload, context):
            time.sleep(payload["gpu_ms" if ON_GPU_RUNG else "cpu_ms"] / 1000)
            return {"device": context.device, "backend": context.backend, "warmed_up": warmed_up, "ppid": os.getppid(),
                    "visible": os.environ.get("CUDA_VISIBLE_DEVICES"), "threads": os.environ.get("OMP_NUM_THREADS")}
        """

    static let settings: ModeControllerSettings = {
        var s = ModeControllerSettings()
        s.window = .seconds(2)
        s.minSamples = 6
        s.cooldown = .seconds(1)
        s.demotionWindow = .seconds(120)  // no low-load demotion during a test
        return s
    }()

    func runtime() throws -> FunctionRuntime {
        try testRuntime("gpu") {
            $0.machine = Machine(cpus: [Machine.discover().cpus[0]], gpus: [.standIn(index: 0)], shares: .none)  // whole GPU only; shares: ShareAndBatchTests
            $0.controller = Self.settings
            $0.keepAlive.useDefaultKeepAlive(.seconds(600))
        }
    }

    struct Reply: Decodable {
        var device: String
        var backend: String
        var warmed_up: Bool
        var ppid: Int32
        var visible: String?
        var threads: String?
    }

    /// Deploys the handler as `cpu_preferred` (ladder `cpu-1`, `gpu0`), then invokes it back to back
    /// with the control loop ticking every 100 ms until `done` or 20 s.
    func drive(
        _ rt: FunctionRuntime, cpuMs: Int, gpuMs: Int, failOnGPU: Bool = false,
        until done: @escaping @Sendable ([PlatformInvocation], [DecisionRecord]) -> Bool
    ) async throws -> [(PlatformInvocation, Reply)] {
        let source = "FAIL_ON_GPU = \(failOnGPU ? "True" : "False")\n" + Self.handler
        try await rt.deploy(DeployRequest(
            name: "f", files: ["handler.py": Array(source.utf8)], mode: .cpuPreferred, maxScale: 1, slo: try SLO(parsing: "p95=80ms")))
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                await rt.tick()
            }
        }
        defer { ticker.cancel() }
        var results: [(PlatformInvocation, Reply)] = []
        let start = ContinuousClock.now
        let body = Array(#"{"cpu_ms": \#(cpuMs), "gpu_ms": \#(gpuMs)}"#.utf8)
        while ContinuousClock.now - start < .seconds(20) {
            let invocation = try await rt.invoke("f", body: body, contentType: "application/json")
            results.append((invocation, try JSONDecoder().decode(Reply.self, from: Data(invocation.outcome.response.body))))
            if done(results.map(\.0), try rt.database.decisions(of: "f").filter { $0.kind != "scale" }) { break }
        }
        return results
    }

    @Test func aViolationOnCPUPromotesToAWarmedGPURungWithNoColdRequest() async throws {
        let rt = try runtime()
        let results = try await drive(rt, cpuMs: 120, gpuMs: 10) { calls, _ in
            calls.filter { $0.backend == .gpu(device: 0, smPercent: 100) }.count >= 10
        }
        await rt.shutdown()
        let decisions = try rt.database.decisions(of: "f").filter { $0.kind != "scale" }
        let promotion = try #require(decisions.first)
        #expect(promotion.kind == "promote" && promotion.from == "cpu-1" && promotion.to == "gpu0", "\(decisions)")
        #expect(promotion.reason.contains("warmed on gpu0 before traffic moved"))
        let onGPU = results.filter { $0.0.backend == .gpu(device: 0, smPercent: 100) }
        try #require(onGPU.count >= 10, "promoted to the GPU rung within 20 s")
        #expect(results.allSatisfy { !$0.0.outcome.coldStart }, "no request waited for a cold start, around the switch or before")
        let gpu = onGPU[0].1
        #expect(gpu.warmed_up, "warmup(context) ran before the first request on the new instance")
        #expect(gpu.device == "cpu" && gpu.backend == "gpu0" && gpu.visible == "", "the stand-in shows no GPU and says cpu")
        #expect(gpu.ppid == getpid(), "a GPU-rung instance is a fresh process of the runtime, never forked from the fork server")
        let cpu = results[0].1
        #expect(cpu.device == "cpu" && cpu.visible == "" && cpu.threads == "1")
        // Cost: the GPU rung's invocations are billed at its price.
        let records = try rt.database.invocations(of: "f", limit: 1000).filter { $0.backend == "gpu0" }
        let prices = PriceTable()
        let record = try #require(records.first)
        #expect(abs(record.costUSD - prices.cost(seconds: record.durationMs / 1000, on: .gpu(device: 0, smPercent: 100))) < 1e-12)
        #expect(prices.perSecond(.gpu(device: 0, smPercent: 100)) > prices.perSecond(.cpu(cores: 1)))
    }

    /// With SM shares on the ladder (an MPS daemon said to run), a GPU function starts on the
    /// largest share its estimated memory fits (half the stand-in's 16 GiB), and its pool, whose
    /// count the hybrid autoscaler owns there, starts no second instance for a queue: three
    /// requests at once run one after another on the one instance.
    @Test func aGPUFunctionStartsOnAShareWhosePoolLeavesTheCountToTheHybrid() async throws {
        let rt = try testRuntime("gpu-share") {
            $0.machine = Machine(
                cpus: [Machine.discover().cpus[0]], gpus: [.standIn(index: 0)], shares: ShareGrid(smPercents: [50], quotaPercents: [50, 100]),
                mps: true)
            $0.controller = Self.settings
        }
        let source = "FAIL_ON_GPU = False\n" + Self.handler
        try await rt.deploy(DeployRequest(name: "f", files: ["handler.py": Array(source.utf8)], mode: .gpu, maxScale: 3))
        let status = try await rt.rung(of: "f")
        #expect(status.start == .gpu(device: 0, smPercent: 50) && status.current == status.start, "\(status.start)")
        let body = Array(#"{"cpu_ms": 0, "gpu_ms": 300}"#.utf8)
        let calls = try await withThrowingTaskGroup(of: PlatformInvocation.self) { group in
            for _ in 0..<3 { group.addTask { try await rt.invoke("f", body: body, contentType: "application/json") } }
            return try await group.reduce(into: [PlatformInvocation]()) { $0.append($1) }
        }
        await rt.shutdown()
        #expect(calls.allSatisfy { $0.backend == .gpu(device: 0, smPercent: 50) })
        #expect(Set(calls.map(\.outcome.instance)).count == 1, "one instance: the queue started no other")
        #expect(calls.map(\.outcome.queueMilliseconds).max() ?? 0 >= 500, "the last waited for the other two (300 ms each)")
    }

    @Test func aGPURungThatBringsNoImprovementIsLeftForCPUAndNotTriedAgain() async throws {
        let rt = try runtime()
        let results = try await drive(rt, cpuMs: 120, gpuMs: 120) { calls, decisions in
            decisions.count >= 2 && calls.suffix(20).allSatisfy { $0.backend == .cpu(cores: 1) }
        }
        await rt.shutdown()
        let decisions = try rt.database.decisions(of: "f").filter { $0.kind != "scale" }
        #expect(decisions.map(\.kind) == ["promote", "demote"], "\(decisions.map { "\($0.kind) \($0.from)->\($0.to): \($0.reason)" })")
        #expect(decisions.last?.to == "cpu-1" && decisions.last?.reason.contains("brought no improvement") == true)
        #expect(results.last?.0.backend == .cpu(cores: 1))
        #expect(results.allSatisfy { !$0.0.outcome.coldStart }, "no request waited for a cold start")
        let status = try await rt.rung(of: "f")
        #expect(status.measured.contains(.gpu(device: 0, smPercent: 100)))
    }

    @Test func aGPURungThatFailsToStartIsMarkedFailedAndTheFunctionStaysOnCPU() async throws {
        let rt = try runtime()
        let results = try await drive(rt, cpuMs: 120, gpuMs: 10, failOnGPU: true) { calls, decisions in
            decisions.contains { $0.kind == "switch_failed" } && calls.count >= 40
        }
        let status = try await rt.rung(of: "f")
        await rt.shutdown()
        let decisions = try rt.database.decisions(of: "f").filter { $0.kind != "scale" }
        #expect(decisions.map(\.kind) == ["switch_failed"], "tried once, then kept off the failed rung")
        #expect(decisions.first?.to == "gpu0" && decisions.first?.reason.contains("out of memory") == true)
        #expect(results.allSatisfy { $0.0.backend == .cpu(cores: 1) }, "every request was served on CPU")
        #expect(status.current == .cpu(cores: 1))
        #expect(status.failed[.gpu(device: 0, smPercent: 100)]?.contains("out of memory") == true)
    }
}

extension GPURungTests {
    @Test func aPinnedRungIsTheWholeLadderAndARungTheMachineLacksIsRefused() async throws {
        let rt = try runtime()
        let source = "FAIL_ON_GPU = False\n" + Self.handler
        try await rt.deploy(DeployRequest(name: "pinned", files: ["handler.py": Array(source.utf8)], rung: .gpu(device: 0, smPercent: 100)))
        let status = try await rt.rung(of: "pinned")
        #expect(status.rungs == [.gpu(device: 0, smPercent: 100)] && status.current == .gpu(device: 0, smPercent: 100))
        let reply = try await rt.invoke("pinned", body: Array(#"{"cpu_ms": 0, "gpu_ms": 0}"#.utf8), contentType: "application/json")
        #expect(reply.backend == .gpu(device: 0, smPercent: 100) && !reply.outcome.coldStart)
        await #expect(throws: PlatformError.self) {
            try await rt.deploy(DeployRequest(name: "nowhere", files: ["handler.py": Array(source.utf8)], rung: .gpu(device: 3, smPercent: 100)))
        }
        do {
            try await rt.deploy(DeployRequest(name: "nowhere", files: ["handler.py": Array(source.utf8)], rung: .cpu(cores: 64)))
        } catch let error as PlatformError {
            #expect(error.code == "invalid_rung" && error.message.contains("cpu-1, gpu0"), "\(error.message)")
        }
        await rt.shutdown()
    }
}
