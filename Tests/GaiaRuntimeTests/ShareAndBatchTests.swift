import Foundation
import GaiaCore
import GaiaStore
import Testing

@testable import GaiaRuntime

/// Share rungs under the quota scheduler and batching through `handle_batch`, with real workers on
/// one core.
@Suite(.serialized)
struct ShareAndBatchTests {
    func runtime() throws -> FunctionRuntime {
        try testRuntime("share") {
            $0.machine = Machine(cpus: [Machine.discover().cpus[0]])
            $0.shareWindow = .milliseconds(500)
        }
    }

    static let spin = """
        import time

        def handle(payload, context):
            end = time.perf_counter() + 0.010
            while time.perf_counter() < end:
                pass
            return {"backend": context.backend}
        """

    @Test func twoFunctionsShareOneCoreByTheirQuotas() async throws {
        let rt = try runtime()
        for (name, rung) in [("a", "cpu-1q25"), ("b", "cpu-1q75")] {
            try await rt.deploy(DeployRequest(name: name, files: ["handler.py": Array(Self.spin.utf8)], maxScale: 1, rung: Backend(rung)))
        }
        let status = try await rt.rung(of: "a")
        #expect(status.current == .cpu(cores: 1, quotaPercent: 25) && status.rungs == [.cpu(cores: 1, quotaPercent: 25)])
        let end = ContinuousClock.now + .seconds(4)
        let busy = await withTaskGroup(of: (String, Double).self) { group in
            for name in ["a", "b"] {
                for _ in 0..<3 {
                    group.addTask {
                        var ms = 0.0
                        while ContinuousClock.now < end {
                            if let r = try? await rt.invoke(name, body: Array("{}".utf8), contentType: "application/json") {
                                ms += r.outcome.response.handlerMilliseconds
                            }
                        }
                        return (name, ms)
                    }
                }
            }
            var total: [String: Double] = [:]
            for await (name, ms) in group { total[name, default: 0] += ms }
            return total
        }
        await rt.shutdown()
        let a = busy["a"]! / (busy["a"]! + busy["b"]!)
        #expect(abs(a - 0.25) < 0.1, "a's part of the core's busy time: \(a) (quota 25%)")
    }

    @Test func aPinnedShareNeedsItsWholeRungOnTheLadder() async throws {
        let rt = try runtime()
        await #expect(throws: PlatformError.self) {
            try await rt.deploy(DeployRequest(name: "far", files: ["handler.py": Array(Self.spin.utf8)], rung: Backend("cpu-4q30")))
        }
        await rt.shutdown()
    }

    static let batching = """
        import os

        def handle(payload, context):
            if payload["x"] < 0:
                raise ValueError(f"negative: {payload['x']}")
            return {"x": payload["x"], "batch": 1, "pid": os.getpid()}

        def handle_batch(payloads, context):
            return [ValueError(f"negative: {p['x']}") if p["x"] < 0 else {"x": p["x"], "batch": len(payloads), "pid": os.getpid()}
                    for p in payloads]
        """

    @Test func concurrentRequestsRunAsOneBatchWithErrorsKeptPerRequest() async throws {
        let rt = try runtime()
        let manifest = try await rt.deploy(DeployRequest(
            name: "batcher", files: ["handler.py": Array(Self.batching.utf8)], maxScale: 1, slo: SLO(statistic: .p95, thresholdMs: 2000),
            maxBatch: 8))
        #expect(manifest.maxBatch == 8)
        let results = await withTaskGroup(of: (Int, Result<(Int, Int), any Error>).self) { group in
            for x in -2..<6 {
                group.addTask {
                    do {
                        let r = try await rt.invoke("batcher", body: Array(#"{"x": \#(x)}"#.utf8), contentType: "application/json")
                        let reply = try JSONSerialization.jsonObject(with: Data(r.outcome.response.body)) as! [String: Any]
                        return (x, .success((reply["x"] as! Int, r.outcome.response.batchSize)))
                    } catch {
                        return (x, .failure(error))
                    }
                }
            }
            var all: [Int: Result<(Int, Int), any Error>] = [:]
            for await (x, r) in group { all[x] = r }
            return all
        }
        await rt.shutdown()
        for x in -2..<6 {
            switch results[x]! {
            case .success(let (echo, _)):
                #expect(x >= 0 && echo == x, "request \(x) got its own answer")
            case .failure(let error):
                #expect(x < 0 && "\(error)".contains("negative: \(x)"), "request \(x): \(error)")
            }
        }
        let batchSizes = results.values.compactMap { try? $0.get().1 }
        #expect(batchSizes.contains { $0 > 1 }, "concurrent requests ran together: \(batchSizes)")
    }
}
