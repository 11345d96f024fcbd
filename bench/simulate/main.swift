// Simulated invocations per second of wall time (bench/simulate.sh): the simulator's engine and
// Gaia's own FunctionController, on one core, for a stated scenario.
import Foundation
import GaiaCore
import GaiaSimulator

let arguments = CommandLine.arguments.dropFirst()
let functions = arguments.first.flatMap(Int.init) ?? 500
let rate = arguments.dropFirst().first.flatMap(Double.init) ?? 10
let duration = arguments.dropFirst(2).first.flatMap(Double.init) ?? 240
let policies = arguments.dropFirst(3).first.map { try! PolicyKind.list($0) } ?? [.gaia, .staticCPU, .knative]

let cluster = try ClusterSpec(parsing: "cpu=200x64,gpu=300x32+8gpu")
var settings = SimulationSettings(duration: duration, seed: 1, cluster: cluster)
settings.autoscaler.maxScale = 50
let workloads = ["resnet18", "matmul"]
let specs = (0..<functions).map { i in
    let workload = Workload.catalog[workloads[i % workloads.count]]!
    return FunctionSpec(name: "f\(i)", workload: workload, arrivals: .poisson(rate: rate), sizes: .uniform(low: 0, high: 4000))
}
print("scenario: \(functions) functions (resnet18 and matmul with n ≤ 4,000, in turn), Poisson \(rate)/s each, \(Int(duration)) s, cluster \(cluster.classes.map { "\($0.name)=\($0.count)x\($0.cores)+\($0.gpus)gpu" }.joined(separator: ","))")
for policy in policies {
    var best = 0.0
    var invocations = 0
    var events = 0
    var last: SimulationResult?
    for _ in 0..<3 {
        let started = ContinuousClock.now
        let result = Simulation(functions: specs, policy: policy, settings: settings).run()
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        invocations = result.arrivals
        events = result.events
        last = result
        best = max(best, Double(result.arrivals) / seconds)
    }
    let r = last!
    print(String(format: "%-15@ %9d invocations (%d answered, %d rejected, %d timed out, %d cold, %.0f instance-s), %9d events: %10.0f simulated invocations/s of wall time (best of 3, one core)",
                 policy.rawValue as NSString, invocations, r.completed, r.rejected, r.timedOut, r.coldStarts, r.instanceSeconds, events, best))
}

// What `gaia simulate` does with the same policies: all of them at once, one task each, on every
// core of the machine (`Scenario.run`); the simulated invocations of all runs per second of wall time.
let cores = ProcessInfo.processInfo.activeProcessorCount
var bestTogether = 0.0
var together = 0
for _ in 0..<3 {
    let started = ContinuousClock.now
    let results = await Scenario.run(functions: specs, policies: policies, settings: settings)
    let seconds = (ContinuousClock.now - started) / .seconds(1)
    together = results.reduce(0) { $0 + $1.arrivals }
    bestTogether = max(bestTogether, Double(together) / seconds)
}
print(String(format: "%@ at once on %d cores (gaia simulate): %d invocations: %10.0f simulated invocations/s of wall time (best of 3)",
             policies.map(\.rawValue).joined(separator: ", ") as NSString, cores, together, bestTogether))
