// Rung switching under a load step: `switch-bench [PHASE_SECONDS]`.
// One trace (low load, a step to back-to-back requests, low load again) of examples/matmul
// (n = 2048) is replayed three times: on a pool pinned to cpu-1 and to cpu-2 (static), then through
// the full runtime with its mode controller (Gaia), whose SLO is the geometric mean of the two
// static step p50s: one core misses it and two cores meet it on any machine, however fast. Prints time to detect the violation, time
// to switch, latency before and after, and the cost per 1,000 requests of each.
import Foundation
import GaiaCore
import GaiaRuntime
import GaiaStore

let phase = Double(CommandLine.arguments.dropFirst().first ?? "") ?? 20
let python = try PythonInterpreter.resolve("python3")
let examples = FileManager.default.currentDirectoryPath + "/examples"
let machine = Machine.discover()
guard machine.cpus.count >= 2 else {
    print("switch-bench needs at least 2 cores (this process may use \(machine.cpus.count))")
    exit(1)
}
let prices = PriceTable()
var settings = ModeControllerSettings()
settings.minSamples = 10
settings.cooldown = .seconds(3)
settings.demotionWindow = .seconds(15)
let payload = Array(#"{"n": 2048}"#.utf8)
let clock = ContinuousClock()

/// The load: (requests per second, 0 for back to back; seconds).
let trace: [(rate: Double, seconds: Double)] = [(1, phase), (0, phase * 1.5), (0.5, phase * 1.5)]

struct Call {
    var sent: ContinuousClock.Instant
    var milliseconds: Double
    var backend: Backend
    var cold: Bool
    var ok: Bool
}

/// Replays the trace through `invoke`, one request at a time, pacing the low-load phases.
func replay(_ invoke: () async throws -> (Backend, Bool)) async -> (calls: [Call], stepStart: ContinuousClock.Instant, stepEnd: ContinuousClock.Instant) {
    var calls: [Call] = []
    var boundaries: [ContinuousClock.Instant] = []
    for (rate, seconds) in trace {
        let start = clock.now
        boundaries.append(start)
        var next = start
        while clock.now - start < .milliseconds(Int(seconds * 1000)) {
            if rate > 0 {
                if next > clock.now { try? await Task.sleep(until: next, clock: clock) }
                next = next.advanced(by: .milliseconds(Int(1000 / rate)))
            }
            let sent = clock.now
            do {
                let (backend, cold) = try await invoke()
                calls.append(Call(sent: sent, milliseconds: (clock.now - sent).inMilliseconds, backend: backend, cold: cold, ok: true))
            } catch {
                calls.append(Call(sent: sent, milliseconds: (clock.now - sent).inMilliseconds, backend: .cpu(cores: 0), cold: false, ok: false))
            }
        }
    }
    return (calls, boundaries[1], boundaries[2])
}

func p50(_ values: [Double]) -> Double { SLO.Statistic.p50.of(values) ?? .nan }
func f1(_ x: Double) -> String { String(format: "%.1f", x) }
func usd(_ x: Double) -> String { String(format: "$%.5f", x) }

/// Bill (pay per use) and provider cost (instance time, idle included) per 1,000 requests.
func report(_ name: String, _ calls: [Call], instanceSeconds: [Backend: Double]) {
    let bill = calls.reduce(0) { $0 + prices.cost(seconds: $1.milliseconds / 1000, on: $1.backend == .cpu(cores: 0) ? .cpu(cores: 1) : $1.backend) }
    let provider = instanceSeconds.reduce(0) { $0 + prices.cost(seconds: $1.value, on: $1.key) }
    let failed = calls.filter { !$0.ok }.count
    let cold = calls.filter(\.cold).count
    let step = calls.map(\.milliseconds)
    print(
        "\(name.padding(toLength: 12, withPad: " ", startingAt: 0)) requests \(calls.count)  failed \(failed)  cold \(cold)  p50 \(f1(p50(step))) ms  "
            + "bill/1k \(usd(bill / Double(calls.count) * 1000))  provider/1k \(usd(provider / Double(calls.count) * 1000))  "
            + "instance-s \(instanceSeconds.sorted { $0.key < $1.key }.map { "\($0.key)=\(f1($0.value))" }.joined(separator: " "))")
}

print("switch-bench: examples/matmul n=2048, trace \(trace.map { "\($0.rate == 0 ? "back-to-back" : "\($0.rate)/s") \(Int($0.seconds))s" }.joined(separator: " -> "))")

// Static rungs: one instance pinned to the rung for the whole trace.
var results: [(String, [Call], [Backend: Double])] = []
var stepP50: [Backend: Double] = [:]
for rung in [Backend.cpu(cores: 1), .cpu(cores: 2)] {
    let pool = InstancePool(backend: rung) { id, backend in
        WorkerConfiguration(
            python: python, functionDirectory: examples + "/matmul", functionName: "matmul", backend: backend,
            cpus: machine.cores(forInstance: id, on: backend), logPath: "/tmp/gaia-switch-bench-\(rung).log")
    }
    try await pool.scale(to: 1)
    let started = clock.now
    let run = await replay {
        let outcome = try await pool.invoke(payload, contentType: "application/json")
        return (rung, outcome.coldStart)
    }
    let seconds = (clock.now - started).inMilliseconds / 1000
    await pool.shutdown()
    let step = run.calls.filter { $0.sent >= run.stepStart && $0.sent < run.stepEnd }.map(\.milliseconds)
    print("static \(rung): step p50 \(f1(p50(step))) ms, low-load p50 \(f1(p50(run.calls.filter { $0.sent < run.stepStart }.map(\.milliseconds)))) ms")
    results.append(("static \(rung)", run.calls, [rung: seconds]))
    stepP50[rung] = p50(step)
}
let threshold = (stepP50[.cpu(cores: 1)]! * stepP50[.cpu(cores: 2)]!).squareRoot().rounded()
let slo = try SLO(parsing: "p50=\(Int(threshold))ms,window=5s")
print("SLO \(slo): the geometric mean of the static step p50s (cpu-1 misses it, cpu-2 meets it)")
print("controller: window \(slo.windowSeconds!) s, min samples \(settings.minSamples), cooldown \(settings.cooldown), demotion window \(settings.demotionWindow), tick 1 s; python \(python)")

// Gaia: the runtime with its mode controller, ticking every second.
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-switch-bench-\(UUID().uuidString)").path
var configuration = RuntimeConfiguration(dataDirectory: directory, python: python)
configuration.controller = settings
configuration.autoscaler.maxScale = 1
configuration.pool.maxScale = 1
configuration.keepAlive.useDefaultKeepAlive(.seconds(3600))
let database = try GaiaDatabase.inMemory()
let runtime = FunctionRuntime(configuration: configuration, database: database)
let source = try String(contentsOfFile: examples + "/matmul/handler.py", encoding: .utf8)
try await runtime.deploy(DeployRequest(name: "matmul", files: ["handler.py": Array(source.utf8)], slo: slo))
let ticker = Task {
    while !Task.isCancelled {
        try? await Task.sleep(for: .seconds(1))
        await runtime.tick()
    }
}
let wallStart = Date()
let monoStart = clock.now
let run = await replay {
    let result = try await runtime.invoke("matmul", body: payload, contentType: "application/json")
    return (result.backend, result.outcome.coldStart)
}
ticker.cancel()
await runtime.tick()
let decisions = try database.decisions(of: "matmul").filter { $0.kind == "promote" || $0.kind == "demote" }
let usage = try database.costs(of: "matmul")
await runtime.shutdown()
func instant(_ date: Date) -> ContinuousClock.Instant { monoStart.advanced(by: .milliseconds(Int(date.timeIntervalSince(wallStart) * 1000))) }
func since(_ a: ContinuousClock.Instant, _ b: ContinuousClock.Instant) -> String { f1((a - b).inMilliseconds / 1000) + " s" }

// Detectable: the first moment, after the step began, when the controller's window (requests on
// cpu-1 sent in the last 5 s) holds min-samples requests and their p50 is over the SLO.
let stepCalls = run.calls.filter { $0.sent >= run.stepStart }
var detectable: ContinuousClock.Instant?
for call in stepCalls where detectable == nil {
    let done = call.sent.advanced(by: .milliseconds(Int(call.milliseconds)))
    let window = run.calls.filter { $0.sent <= call.sent && done - $0.sent < .seconds(5) && $0.backend == .cpu(cores: 1) }.map(\.milliseconds)
    if window.count >= settings.minSamples, p50(window) > slo.thresholdMs { detectable = done }
}
if detectable == nil { print("gaia step: the violation never became detectable (too few slow requests in a window)") }
print("gaia decisions:")
for d in decisions {
    let at = instant(d.at)
    print("  +\(since(at, monoStart))  \(d.kind) \(d.from) -> \(d.to)  measured \(d.measuredMs.map(f1) ?? "-") ms  predicted \(d.predictedMs.map(f1) ?? "-") ms  switch took \(d.tookMs.map(f1) ?? "-") ms  \(d.reason)")
}
if let promotion = decisions.first(where: { $0.kind == "promote" }), let detectable {
    let decided = instant(promotion.at).advanced(by: .milliseconds(-Int(promotion.tookMs ?? 0)))
    let before = stepCalls.filter { $0.backend == .cpu(cores: 1) && $0.sent < run.stepEnd }.map(\.milliseconds)
    let after = stepCalls.filter { $0.backend == .cpu(cores: 2) && $0.sent < run.stepEnd }.map(\.milliseconds)
    print("gaia step: detectable \(since(detectable, run.stepStart)) after the step began; decided \(since(decided, detectable)) after that (1 s ticks); switch took \(f1(promotion.tookMs ?? 0)) ms")
    print("gaia step: p50 before \(f1(p50(before))) ms (cpu-1, \(before.count) requests), after \(f1(p50(after))) ms (cpu-2, \(after.count) requests)")
}
if let demotion = decisions.last(where: { $0.kind == "demote" }) {
    print("gaia: demoted \(since(instant(demotion.at), run.stepEnd)) after the load dropped")
}
var instanceSeconds: [Backend: Double] = [:]
for u in usage { if let b = Backend(u.backend) { instanceSeconds[b] = u.instanceSeconds } }
results.append(("gaia", run.calls, instanceSeconds))
print("cost over the whole trace (prices: vCPU \(prices.vcpuSecond)/s, GiB \(prices.memoryGiBSecond)/s, \(prices.memoryGiBPerInstance) GiB per instance):")
for (name, calls, seconds) in results { report(name, calls, instanceSeconds: seconds) }
try? FileManager.default.removeItem(atPath: directory)
