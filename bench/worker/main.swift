// Worker round trip and cold start: `worker-bench [INVOCATIONS] [COLD_STARTS]`.
// Warm: echo invocations through one WorkerProcess (framed protocol over pipes), p50/p99/max.
// Cold: process start to `ready` (shim + import + init) for examples/echo and examples/matmul.
import Foundation
import GaiaCore
import GaiaRuntime

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let invocations = arguments.first ?? 2000
let coldStarts = arguments.dropFirst().first ?? 10
let python = try PythonInterpreter.resolve("python3")
let examples = FileManager.default.currentDirectoryPath + "/examples"

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func makeWorker(_ example: String) -> WorkerProcess {
    WorkerProcess(configuration: WorkerConfiguration(
        python: python, functionDirectory: examples + "/" + example, functionName: example,
        backend: .cpu(cores: 1), cpus: [0], logPath: "/tmp/gaia-bench-\(example).log"))
}

let clock = ContinuousClock()

print("python: \(python); machine: \(ProcessInfo.processInfo.activeProcessorCount) cores")
let worker = makeWorker("echo")
try await worker.start()
let payload = Array(#"{"hello": "world", "n": 42}"#.utf8)
for _ in 0..<100 { _ = try await worker.invoke(payload, contentType: "application/json") }
var roundTrips: [Double] = []
var handler: [Double] = []
for _ in 0..<invocations {
    var response: WorkerResponse?
    let elapsed = try await clock.measure { response = try await worker.invoke(payload, contentType: "application/json") }
    roundTrips.append(elapsed.inMilliseconds)
    handler.append(response!.handlerMilliseconds)
}
await worker.terminate()
print(String(format: "warm echo, %d invocations: round trip p50 %.3f ms, p99 %.3f ms, max %.3f ms (handler itself p50 %.3f ms); %.0f req/s on one worker",
    invocations, percentile(roundTrips, 0.5), percentile(roundTrips, 0.99), roundTrips.max()!, percentile(handler, 0.5),
    Double(invocations) / (roundTrips.reduce(0, +) / 1000)))

for example in ["echo", "matmul"] {
    var starts: [Double] = []
    for _ in 0..<coldStarts {
        let w = makeWorker(example)
        let elapsed = try await clock.measure {
            try await w.start()
            _ = try await w.invoke(Array(#"{"n": 64}"#.utf8), contentType: "application/json")
        }
        starts.append(elapsed.inMilliseconds)
        await w.terminate()
    }
    print(String(format: "cold start + first response, %@ (fresh process), %d runs: p50 %.1f ms, min %.1f ms, max %.1f ms",
        example, coldStarts, percentile(starts, 0.5), starts.min()!, starts.max()!))
}
