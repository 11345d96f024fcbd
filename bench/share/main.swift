// GPU sharing's quota scheduler, live on CPU: `share-bench [SECONDS]`.
// Two functions pinned to the same core, one on cpu-1q30 and one on cpu-1q70, each kept busy by
// four clients that send back to back for SECONDS (default 20). The core's quota scheduler admits
// their invocations; each function's share is its handlers' busy time over the run. The last line
// reads `shares: A=..% B=..% (configured 30%, 70%)`.
import Foundation
import GaiaCore
import GaiaRuntime
import GaiaStore

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "") ?? 20
let python = try PythonInterpreter.resolve("python3")
let clock = ContinuousClock()
let directory = NSTemporaryDirectory() + "gaia-share-bench-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: directory) }
var configuration = RuntimeConfiguration(dataDirectory: directory, python: python)
configuration.machine = Machine(cpus: [Machine.discover().cpus[0]])
let runtime = FunctionRuntime(configuration: configuration, database: try GaiaDatabase.inMemory())

/// A handler that keeps the core busy for 20 ms.
let spin = """
    import time

    def handle(payload, context):
        end = time.perf_counter() + 0.020
        while time.perf_counter() < end:
            pass
        return {"ok": True}
    """

/// Sends back to back from `clients` tasks for `seconds`; returns the handlers' busy seconds and
/// the latencies.
func drive(_ name: String, clients: Int, for seconds: Double) async -> (busy: Double, calls: Int, p95: Double) {
    let end = clock.now + .milliseconds(Int(seconds * 1000))
    let results = await withTaskGroup(of: [(Double, Double)].self) { group in
        for _ in 0..<clients {
            group.addTask {
                var mine: [(Double, Double)] = []
                while clock.now < end {
                    guard let r = try? await runtime.invoke(name, body: Array("{}".utf8), contentType: "application/json") else { continue }
                    mine.append((r.outcome.response.handlerMilliseconds, r.outcome.totalMilliseconds))
                }
                return mine
            }
        }
        var all: [(Double, Double)] = []
        for await part in group { all += part }
        return all
    }
    let busy = results.reduce(0) { $0 + $1.0 } / 1000
    return (busy, results.count, SLO.Statistic.p95.of(results.map(\.1)) ?? .nan)
}

for (name, rung) in [("share-a", "cpu-1q30"), ("share-b", "cpu-1q70")] {
    try await runtime.deploy(DeployRequest(
        name: name, files: ["handler.py": Array(spin.utf8)], maxScale: 1, concurrency: 1, rung: Backend(rung)))
}
print("two functions on one core (\(configuration.machine.cpus[0])), 20 ms per invocation, 4 clients each, \(Int(seconds)) s, quota window \(configuration.shareWindow)")
let started = clock.now
async let a = drive("share-a", clients: 4, for: seconds)
async let b = drive("share-b", clients: 4, for: seconds)
let (ra, rb) = await (a, b)
let elapsed = (clock.now - started).inSeconds
for (label, r) in [("A cpu-1q30", ra), ("B cpu-1q70", rb)] {
    print("\(label): \(r.calls) invocations, busy \(String(format: "%.1f", r.busy)) s, p95 \(String(format: "%.0f", r.p95)) ms")
}
print("core busy: \(String(format: "%.0f", (ra.busy + rb.busy) / elapsed * 100))% of \(String(format: "%.1f", elapsed)) s")
await runtime.shutdown()
print("shares: A=\(Int((ra.busy / elapsed * 100).rounded()))% B=\(Int((rb.busy / elapsed * 100).rounded()))% (configured 30%, 70%)")
