// GPU sharing's quota scheduler and adaptive batching, live on CPU: `share-bench [SECONDS]`.
// Batching: one numpy MLP (4 layers of 1024 × 1024, float32), deployed once with `handle` alone and
// once with `handle_batch` too, each on one instance of one core with the same SLO (p95 under
// 300 ms), driven by 16 clients back to back: throughput and p95 of each.
// Sharing: two functions pinned to the same core, one on cpu-1q30 and one on cpu-1q70, each kept busy by
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

/// Sends back to back from `clients` tasks for `seconds`; returns the handlers' busy seconds (a
/// batch's time shared among its requests), the count, the p95 and the mean batch size.
func drive(_ name: String, clients: Int, for seconds: Double, payload: String = "{}") async -> (busy: Double, calls: Int, p95: Double, meanBatch: Double) {
    let end = clock.now + .milliseconds(Int(seconds * 1000))
    let results = await withTaskGroup(of: [(Double, Double, Int)].self) { group in
        for _ in 0..<clients {
            group.addTask {
                var mine: [(Double, Double, Int)] = []
                while clock.now < end {
                    guard let r = try? await runtime.invoke(name, body: Array(payload.utf8), contentType: "application/json") else { continue }
                    // Only what finished within the run: requests still queued at its end are
                    // served afterwards, when the other function no longer contends.
                    guard clock.now <= end else { break }
                    let response = r.outcome.response
                    mine.append((response.handlerMilliseconds / Double(response.batchSize), r.outcome.totalMilliseconds, response.batchSize))
                }
                return mine
            }
        }
        var all: [(Double, Double, Int)] = []
        for await part in group { all += part }
        return all
    }
    let busy = results.reduce(0) { $0 + $1.0 } / 1000
    let meanBatch = results.isEmpty ? 0 : Double(results.reduce(0) { $0 + $1.2 }) / Double(results.count)
    return (busy, results.count, SLO.Statistic.p95.of(results.map(\.1)) ?? .nan, meanBatch)
}

/// A small MLP; `handle_batch` runs a whole batch through it in one matrix product per layer.
let mlp = """
    import numpy as np

    def init(context):
        global layers
        rng = np.random.default_rng(0)
        layers = [rng.standard_normal((1024, 1024), dtype=np.float32) / 32 for _ in range(4)]

    def forward(x):
        for w in layers:
            x = np.maximum(x @ w, 0)
        return x

    def handle(payload, context):
        x = np.full((1, 1024), float(payload.get("x", 1)), dtype=np.float32)
        return {"y": float(forward(x).sum())}
    """
let mlpBatch = mlp + """

    def handle_batch(payloads, context):
        x = np.stack([np.full(1024, float(p.get("x", 1)), dtype=np.float32) for p in payloads])
        return [{"y": float(row.sum())} for row in forward(x)]
    """
let slo = try SLO(parsing: "p95=300ms")
print("batching: a numpy MLP (4 × 1024²) on one core, 16 clients back to back, \(Int(seconds)) s each, SLO \(slo)")
for (name, source) in [("mlp-single", mlp), ("mlp-batch", mlpBatch)] {
    try await runtime.deploy(DeployRequest(
        name: name, files: ["handler.py": Array(source.utf8)], maxScale: 1, slo: slo, rung: .cpu(cores: 1), maxBatch: 16))
    let ticker = Task {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            await runtime.tick()
        }
    }
    let started = clock.now
    let r = await drive(name, clients: 16, for: seconds, payload: #"{"x": 2}"#)
    ticker.cancel()
    let elapsed = min((clock.now - started).inSeconds, seconds)
    print("  \(name.padding(toLength: 10, withPad: " ", startingAt: 0)): \(String(format: "%.0f", Double(r.calls) / elapsed)) req/s, p95 \(String(format: "%.0f", r.p95)) ms, mean batch \(String(format: "%.1f", r.meanBatch))")
    try await runtime.remove(name)
}

// How far an invocation longer than quota × window overruns: a 300 ms handler at quota 10% (its
// quota is 100 ms of each 1 s window) beside a 20 ms one at 90%.
let long = spin.replacingOccurrences(of: "0.020", with: "0.300")
try await runtime.deploy(DeployRequest(name: "long", files: ["handler.py": Array(long.utf8)], maxScale: 1, concurrency: 1, rung: Backend("cpu-1q10")))
try await runtime.deploy(DeployRequest(name: "short", files: ["handler.py": Array(spin.utf8)], maxScale: 1, concurrency: 1, rung: Backend("cpu-1q90")))
do {
    let started = clock.now
    async let l = drive("long", clients: 4, for: seconds / 2)
    async let s = drive("short", clients: 4, for: seconds / 2)
    let (rl, rs) = await (l, s)
    let elapsed = min((clock.now - started).inSeconds, seconds / 2)
    print("overrun: a 300 ms invocation at quota 10% (window \(configuration.shareWindow)): share \(Int((rl.busy / elapsed * 100).rounded()))% "
        + "(quota 10%), beside a 20 ms one at 90%: \(Int((rs.busy / elapsed * 100).rounded()))%")
    try await runtime.remove("long")
    try await runtime.remove("short")
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
let elapsed = min((clock.now - started).inSeconds, seconds)
for (label, r) in [("A cpu-1q30", ra), ("B cpu-1q70", rb)] {
    print("\(label): \(r.calls) invocations, busy \(String(format: "%.1f", r.busy)) s, p95 \(String(format: "%.0f", r.p95)) ms")
}
print("core busy: \(String(format: "%.0f", (ra.busy + rb.busy) / elapsed * 100))% of \(String(format: "%.1f", elapsed)) s")
await runtime.shutdown()
print("shares: A=\(Int((ra.busy / elapsed * 100).rounded()))% B=\(Int((rb.busy / elapsed * 100).rounded()))% (configured 30%, 70%)")
