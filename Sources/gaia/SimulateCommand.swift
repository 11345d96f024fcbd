import ArgumentParser
import Foundation
import GaiaCore
import GaiaSimulator
import Synchronization

/// `gaia simulate`: replays a workload through Gaia's own controller and the baselines on virtual time.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay a workload through Gaia's controller and baseline policies on a simulated cluster (virtual time).",
        discussion: """
            Each policy runs the same requests (same seed) on the same cluster: gaia (Gaia's own FunctionController, \
            unchanged), static-cpu (pinned to the largest CPU rung), static-gpu (pinned to a GPU), gaia-prototype \
            (the published prototype's rules: a cold start on every switch), knative (a whole GPU per instance, KPA, \
            fixed keep-alive), fast-gshare (a fixed SM share per instance, --fast-gshare-sm, horizontal scaling only), \
            has-gpu (one SM share per instance, --has-gpu-sm, with a time quota: vertical scaling first, then \
            horizontal). Prints a table (or --json), and writes --csv and --plots when asked. The same seed \
            prints the same output. Examples (docs/EVALUATION.md has more):
              gaia simulate --workload matmul --trace closed:requests=101 --sizes ramp:0-20000/200
              gaia simulate --workload resnet18 --trace onoff:rate=20,on=60,off=240 --duration 1800
              gaia simulate --workload resnet18 --functions 4 --trace poisson:rate=4 --cluster node=1x16+2gpu --gpu-sm-shares 25,50,100
              gaia simulate --workload resnet18 --functions 4 --trace poisson:rate=4 --cluster node=1x16+2gpu --gpu-quotas 20,40,60,80,100
              gaia simulate --azure invocations.csv --azure-durations durations.csv --functions 100 --duration 86400
            """
    )

    @Option(help: "The workload: matmul, resnet18, tinyllama, idle, or exponential:MS.") var workload = "matmul"
    @Option(help: "Force the functions' execution mode (default: what Gaia's analyzer says of the workload's code), as gaia deploy --mode.")
    var mode: ExecutionMode?
    @Option(help: "Arrivals: poisson:rate=R | onoff:rate=R,on=S,off=S | diurnal:mean=R,amplitude=A,period=S | step:rates=R1/R2/…,every=S | closed:requests=N.")
    var trace = "poisson:rate=1"
    @Option(help: "Payload sizes: fixed:N | ramp:FROM-TO/STEP | uniform:LOW-HIGH (matmul's size n).") var sizes = "fixed:2000"
    @Option(help: "How many copies of the function (each with its own arrivals).") var functions = 1
    @Option(help: "An Azure Functions 2019 invocations file (per-minute counts); replaces --workload and --trace.") var azure: String?
    @Option(help: "The matching Azure durations-percentiles file.") var azureDurations: String?
    @Flag(help: "Also find the best static configuration in hindsight (every rung × instance count simulated on the same requests; the cheapest that meets the SLO) and report it as 'oracle'.") var oracle = false
    @Option(help: "Comma-separated policies.") var policies = PolicyKind.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Nodes: NAME=COUNTxCORES[+Ngpu][@RTTms],… e.g. edge=8x8@5ms,cloud=2x32+4gpu@25ms.") var cluster = "node=1x16+1gpu"
    @Option(help: "Seconds of arrivals (the run goes on until every request has ended).") var duration = 600.0
    @Option(help: "SM shares of a GPU the ladder offers, percent (MPS; 100 is the whole GPU), e.g. 25,50,100.")
    var gpuSmShares = "100"
    @Option(help: "Time quotas the ladder offers on each SM share, percent (100: none), e.g. 20,40,60,80,100; has-gpu uses 10…100 by 10 when none is given.")
    var gpuQuotas = "100"
    @Option(help: "The fixed SM share, percent, of every fast-gshare instance.") var fastGshareSm = 50
    @Option(help: "The SM share, percent, of every has-gpu instance (its time quota is scaled).") var hasGpuSm = 50
    @Option(help: "The seed.") var seed: UInt64 = 1
    @Option(help: "Every function's SLO.") var slo = "p95=1000ms"
    @Option(help: "Most instances per function.") var maxScale = 10
    @Option(help: "Fewest instances per function (0: scale to zero).") var minScale = 0
    @Option(help: "Requests one instance runs at once.") var concurrency = 1
    @Option(help: "Width of the plotted time buckets, seconds.") var bucket = 10.0
    @Flag(help: "Print the report as JSON instead of a table.") var json = false
    @Option(help: "Also write the table as CSV to this file.") var csv: String?
    @Option(help: "Also write SVG plots (latency.svg, rung.svg, cost.svg) into this folder.") var plots: String?
    @Option(help: "Also write every answered request of the first function, per policy, as CSV to this file.") var requests: String?
    @Option(help: "Also write every action (scale, promote, demote) the first function's controller took, with its reason, per policy, as CSV to this file.") var decisions: String?

    func validate() throws {
        guard duration > 0, duration <= 30 * 86_400 else { throw ValidationError("--duration must be in (0, 30 days]") }
        guard (1...100_000).contains(functions) else { throw ValidationError("--functions must be 1…100,000") }
        let ceiling = AutoscalerSettings.instanceCeiling
        guard (1...ceiling).contains(maxScale), (0...maxScale).contains(minScale) else {
            throw ValidationError("--max-scale must be 1…\(ceiling) and --min-scale 0…max scale (got \(maxScale) and \(minScale))")
        }
        guard (1...1000).contains(concurrency) else { throw ValidationError("--concurrency must be 1…1000") }
        guard bucket > 0 else { throw ValidationError("--bucket must be positive") }
        guard (1...100).contains(fastGshareSm) else { throw ValidationError("--fast-gshare-sm must be 1…100") }
        guard (1...100).contains(hasGpuSm) else { throw ValidationError("--has-gpu-sm must be 1…100") }
        guard Self.percents(gpuSmShares) != nil else { throw ValidationError("--gpu-sm-shares: write percents 1…100 separated by commas, e.g. 25,50,100") }
        guard Self.percents(gpuQuotas) != nil else { throw ValidationError("--gpu-quotas: write percents 1…100 separated by commas, e.g. 20,40,60,80,100") }
    }

    /// Comma-separated percents, nil when malformed.
    static func percents(_ text: String) -> [Int]? {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0.map { (1...100).contains($0) } ?? false }) else { return nil }
        return values.compactMap { $0 }
    }

    func run() async throws {
        let kinds: [PolicyKind]
        let specs: [FunctionSpec]
        var settings: SimulationSettings
        var scenario: String
        do {
            kinds = try PolicyKind.list(policies)
            let objective = try SLO(parsing: slo)
            var nodes = try ClusterSpec(parsing: cluster)
            nodes.smShares = Self.percents(gpuSmShares) ?? [100]
            nodes.quotaPercents = Self.percents(gpuQuotas) ?? [100]
            settings = SimulationSettings(duration: duration, seed: seed, cluster: nodes)
            settings.fastGShareSM = fastGshareSm
            settings.hasGPUSM = hasGpuSm
            if let azure {
                guard let invocations = try? String(contentsOfFile: azure, encoding: .utf8) else { throw SimulationError("cannot read \(azure)") }
                let durations = try azureDurations.map { path in
                    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw SimulationError("cannot read \(path)") }
                    return text
                }
                specs = try Scenario.azure(try AzureTrace(invocations: invocations, durations: durations), limit: functions, slo: objective)
                scenario = "\(specs.count) functions from \(azure), \(Int(duration)) s, cluster \(cluster)"
            } else {
                var model = try Scenario.workload(workload)
                if let mode { model.mode = mode }
                let arrivals = try ArrivalProcess(parsing: trace)
                let sizeModel = try Scenario.sizes(sizes)
                specs = (0..<functions).map { FunctionSpec(name: functions == 1 ? model.name : "\(model.name)-\($0)", workload: model, arrivals: arrivals, sizes: sizeModel, slo: objective, concurrency: concurrency) }
                scenario = "\(functions) × \(model.name) (\(model.mode)), \(trace), sizes \(sizes), \(Int(duration)) s, cluster \(cluster), SLO \(objective)"
            }
        } catch let error as SimulationError {
            throw CLIError(description: error.description)
        } catch {
            throw CLIError(description: "\(error)")
        }
        if settings.cluster.smShares != [100] { scenario += ", SM shares \(settings.cluster.smShares.map(String.init).joined(separator: "/"))%" }
        if settings.cluster.quotaPercents != [100] { scenario += ", time quotas \(settings.cluster.quotaPercents.map(String.init).joined(separator: "/"))%" }
        if kinds.contains(.fastGShare) { scenario += ", fast-gshare at SM \(fastGshareSm)%" }
        if kinds.contains(.hasGPU) { scenario += ", has-gpu at SM \(hasGpuSm)%" }
        settings.autoscaler.maxScale = maxScale
        settings.autoscaler.minScale = minScale
        settings.seriesBucket = bucket
        settings.recordRequests = requests != nil
        settings.recordDecisions = decisions != nil
        let bar = ProgressBar(policies: kinds)
        var results = await Scenario.run(functions: specs, policies: kinds, settings: settings) { policy, fraction in bar.update(policy, fraction) }
        bar.finish()
        if oracle, let best = Scenario.oracle(functions: specs, settings: settings) { results.append(best) }
        let report = SimulationReport(scenario: scenario, seed: seed, results: results)
        print(json ? try report.json() : report.text(), terminator: "")
        if let csv { try report.csv().write(toFile: csv, atomically: true, encoding: .utf8) }
        if let requests { try report.requestsCSV().write(toFile: requests, atomically: true, encoding: .utf8) }
        if let decisions { try report.decisionsCSV().write(toFile: decisions, atomically: true, encoding: .utf8) }
        if let plots {
            try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: true)
            for (name, svg) in report.plots() { try svg.write(toFile: plots + "/" + name, atomically: true, encoding: .utf8) }
        }
    }
}

/// A one-line progress bar on stderr for runs longer than a second (stdout stays the report).
final class ProgressBar: Sendable {
    private struct State {
        var fractions: [String: Double] = [:]
        var shown = false
        var lastDraw = ContinuousClock.now
    }

    private let state = Mutex(State())
    private let started = ContinuousClock.now
    private let order: [String]

    init(policies: [PolicyKind]) {
        order = policies.map(\.rawValue)
    }

    func update(_ policy: PolicyKind, _ fraction: Double) {
        state.withLock { s in
            s.fractions[policy.rawValue] = fraction
            let now = ContinuousClock.now
            guard now - started > .seconds(1), now - s.lastDraw > .milliseconds(200) else { return }
            s.lastDraw = now
            s.shown = true
            let done = order.map { s.fractions[$0] ?? 0 }.reduce(0, +) / Double(max(1, order.count))
            let width = 30
            let filled = Int(done * Double(width))
            let line = "\rsimulating [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(Int(done * 100))%"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    func finish() {
        state.withLock { s in
            if s.shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }
}
