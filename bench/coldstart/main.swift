// Cold start to first response: `coldstart-bench [RUNS]`.
// For each example (echo, matmul with numpy, minilm with onnxruntime when installed), RUNS times:
// a new instance is started and sent its first request; time from the request until the answer.
// (a) a fresh process (interpreter start, imports, init); (b) a fork of the fork server, which has
// already imported numpy and onnxruntime (its own start is paid once, before the runs); (c) when
// this runs as root, (b) sandboxed as `gaia serve` does it (own uid, mount namespace, cgroups).
import Foundation
import GaiaCore
import GaiaRuntime

let runs = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 20
let python = try PythonInterpreter.resolve("python3")
let examples = FileManager.default.currentDirectoryPath + "/examples"
let clock = ContinuousClock()

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
}

let cases: [(name: String, payload: String, needs: String?)] = [
    ("echo", #"{"hello": "world"}"#, nil),
    ("matmul", #"{"n": 64}"#, "numpy"),
    ("minilm", #"{"input_ids": [101, 7592, 2088, 102]}"#, "onnxruntime"),
]
let zygote = Zygote(python: python, preload: ["numpy", "onnxruntime"], logPath: "/tmp/gaia-coldstart-zygote.log")
// Start the fork server once (what a running platform has already paid).
let probe = WorkerProcess(configuration: WorkerConfiguration(
    python: python, functionDirectory: examples + "/echo", functionName: "echo", backend: .cpu(cores: 1), cpus: [0],
    logPath: "/tmp/gaia-coldstart-probe.log", zygote: zygote))
let zygoteStart = try await clock.measure { try await probe.start() }
await probe.terminate()
print("python: \(python); fork server start (once): \(String(format: "%.1f", zygoteStart.inMilliseconds)) ms, preloaded \(await zygote.preloaded ?? [])")
print("cold start + first response, \(runs) runs each, release build, cpu-1 pinned to core 0")
// As `gaia serve` confines instances when it runs as root: a uid of their own, the data folder
// masked, their cgroups.
let data = "/tmp/gaia-coldstart-data"
var sandbox: FunctionSandbox?
if SandboxSettings().active {
    try FunctionSandbox.makeHome(data + "/home/bench", uid: 199_000, gid: 199_000)
    sandbox = FunctionSandbox(uid: 199_000, hidden: [data], home: data + "/home/bench", cgroups: try? Cgroups.discover().get())
} else {
    print("sandboxed: not measured (\(SandboxSettings.unavailable(firstUID: 200_000) ?? "sandbox off"))")
}
let ways = sandbox == nil ? ["fresh", "zygote"] : ["fresh", "zygote", "sandboxed"]

for c in cases {
    if let module = c.needs, !PythonInterpreter.canImport([module], python: python) {
        print("\(c.name): skipped (\(module) is not installed)")
        continue
    }
    var figures: [String: [Double]] = [:]
    for run in 0..<(runs * ways.count) {
        let way = ways[run % ways.count]  // alternate, so drift hits every way alike
        var configuration = WorkerConfiguration(
            python: python, functionDirectory: examples + "/" + c.name, functionName: c.name, backend: .cpu(cores: 1), cpus: [0],
            logPath: "/tmp/gaia-coldstart-\(c.name).log", zygote: way == "fresh" ? nil : zygote)
        if way == "sandboxed" { configuration.sandbox = sandbox }
        let worker = WorkerProcess(configuration: configuration)
        let elapsed = try await clock.measure {
            try await worker.start()
            _ = try await worker.invoke(Array(c.payload.utf8), contentType: "application/json")
        }
        await worker.terminate()
        figures[way, default: []].append(elapsed.inMilliseconds)
    }
    let fresh = percentile(figures["fresh"]!, 0.5)
    let forked = percentile(figures["zygote"]!, 0.5)
    func line(_ values: [Double]) -> String {
        String(format: "p50 %7.1f ms  p90 %7.1f ms  min %7.1f ms", percentile(values, 0.5), percentile(values, 0.9), values.min()!)
    }
    print("\(c.name.padding(toLength: 7, withPad: " ", startingAt: 0)) fresh process: \(line(figures["fresh"]!))")
    print("\(c.name.padding(toLength: 7, withPad: " ", startingAt: 0)) fork server:   \(line(figures["zygote"]!))  (\(String(format: "%.1f", fresh / forked))x faster)")
    if let confined = figures["sandboxed"] {
        print("\(c.name.padding(toLength: 7, withPad: " ", startingAt: 0)) sandboxed:     \(line(confined))  (+\(String(format: "%.1f", percentile(confined, 0.5) - forked)) ms)")
    }
}
await zygote.stop()
