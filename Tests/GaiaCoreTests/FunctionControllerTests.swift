import GaiaCore
import Testing

/// The per-function controller on a manual clock: scaling, keep-alive and rung switches combined,
/// with each decision's reason from the rule that made it.
struct FunctionControllerTests {
    let t0 = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0.advanced(by: .milliseconds(Int64(seconds * 1000))) }

    func controller(keepAlive: KeepAliveSettings = KeepAliveSettings(), minScale: Int = 0, loaded: Bool = true) -> FunctionController {
        var autoscaler = AutoscalerSettings()
        autoscaler.minScale = minScale
        let mode = ModeController(
            rungs: [.cpu(cores: 1), .cpu(cores: 2)], start: .cpu(cores: 1), slo: nil, model: LatencyModel(parallelFraction: 0.5),
            at: at(0))
        return FunctionController(autoscaler: autoscaler, keepAlive: keepAlive, mode: mode, at: at(0), loaded: loaded)
    }

    /// A deploy's proving instance is kept for the keep-alive; a restart starts none until a
    /// request comes, beyond the minimum scale (a restart with many functions stored used to start
    /// one instance of each at once).
    @Test(arguments: [0, 2])
    func aRestartStartsOnlyWhatTheMinimumScaleAsksFor(minScale: Int) {
        var restarted = controller(minScale: minScale, loaded: false)
        var deployed = controller(minScale: minScale)
        for t in stride(from: 1.0, through: 5, by: 1) {
            let restartedScales = scales(restarted.evaluate(at: at(t), observing: FunctionObservation(requestsInPool: 0, instances: minScale)))
            #expect(restartedScales.isEmpty, "restarted, at \(t) s: \(restartedScales)")
            let deployedScales = scales(deployed.evaluate(at: at(t), observing: FunctionObservation(requestsInPool: 0, instances: max(1, minScale))))
            #expect(deployedScales.isEmpty, "deployed, its instance kept at \(t) s: \(deployedScales)")
        }
        let first = scales(restarted.evaluate(at: at(6), observing: FunctionObservation(requestsInPool: 0, instances: 0)))
        #expect(minScale == 0 ? first.isEmpty : first.first?.to == minScale, "\(first)")
    }

    /// With an outlook the instance count is the planner's: a backlog that the instances there
    /// drain within a start's time starts none (a queue waiting for a cold start once asked the
    /// autoscaler for ten instances), a larger one gets what drains the rest within another start,
    /// and none is stopped while it waits.
    @Test func aBacklogGetsOnlyTheInstancesThatCanHelpBeforeItDrains() throws {
        var inputs = FunctionPolicyInputs(
            ladder: BackendLadder(rungs: [.cpu(cores: 1)]), mode: .cpu, slo: SLO(statistic: .p95, thresholdMs: 5000))
        inputs.room = InstanceRoom(nodeCores: [16], gpus: 0)
        inputs.autoscaler.maxScale = 16
        var c = FunctionController(inputs, at: at(0))
        // 1 req/s of 0.5 s requests on one instance, for 40 s.
        for t in 1...40 {
            c.invocationFinished(arrived: at(Double(t) - 0.5), milliseconds: 500, serviceMilliseconds: 500, on: .cpu(cores: 1), warmAndSuccessful: true)
            _ = c.evaluate(at: at(Double(t)), observing: FunctionObservation(requestsInPool: 1, instances: 1))
        }
        // One waiting beyond the instance's slot: its spare capacity (1 req/s) drains it within a
        // start (2 s): no more instances.
        let small = scales(c.evaluate(at: at(41), observing: FunctionObservation(requestsInPool: 2, instances: 1)))
        #expect(small.allSatisfy { $0.to == 1 }, "\(small)")
        // Thirty waiting: 29 arrived in the tick (5.7 req/s over the panic window), more than the
        // instance serves, so all 30 are left after a start; at 0.5 s each, another start's time
        // drains them on 8 more instances.
        let large = try #require(scales(c.evaluate(at: at(42), observing: FunctionObservation(requestsInPool: 31, instances: 1))).first)
        #expect(large.to == 9, "\(large)")
        #expect(large.reason.contains("30 waiting") && large.reason.contains("8 more"), "\(large.reason)")
        // Sixteen instances with requests still waiting beyond their slots: none is stopped.
        let held = scales(c.evaluate(at: at(43), observing: FunctionObservation(requestsInPool: 17, instances: 16)))
        #expect(held.isEmpty, "\(held)")
        // The pool of such a function starts an instance for a queue only from none.
        #expect(!FunctionController.poolStartsForQueue(on: .cpu(cores: 1), among: inputs.rungs, plansConfigurations: true))
        #expect(FunctionController.poolStartsForQueue(on: .cpu(cores: 1), among: inputs.rungs, plansConfigurations: false))
    }

    func scales(_ actions: [RuntimeAction]) -> [(from: Int, to: Int, reason: String)] {
        actions.compactMap { if case .scale(let from, let to, let reason) = $0 { (from, to, reason) } else { nil } }
    }

    @Test func anIdleFunctionKeepsItsInstanceForTheKeepAliveThenScalesToZeroSayingHowLongItWasIdle() {
        var keepAlive = KeepAliveSettings()
        keepAlive.mode = .fixed(seconds: 60)
        var c = controller(keepAlive: keepAlive)
        for t in stride(from: 1.0, through: 66, by: 1) {
            if t == 8 { c.invocationFinished(arrived: at(5), milliseconds: 2000, on: .cpu(cores: 1), warmAndSuccessful: true) }
            let actions = c.evaluate(at: at(t), observing: FunctionObservation(requestsInPool: 0, instances: 1))
            #expect(scales(actions).isEmpty, "kept at \(t) s: \(actions)")
        }
        let last = scales(c.evaluate(at: at(67), observing: FunctionObservation(requestsInPool: 0, instances: 1)))
        #expect(last.count == 1 && last[0].to == 0)
        #expect(last[0].reason.hasPrefix("idle for 60 s, past the keep-alive of 60 s (fixed keep-alive): scale to zero"), "true idle time since the request ended at 7 s: \(last[0].reason)")
    }

    /// The live run the issue describes: a short request every 15 s, never seen by the per-second
    /// concurrency samples. Unloads and pre-warms are the keep-alive policy's, with true idle times.
    @Test func periodicShortRequestsArePreWarmedWithReasonsInTheKeepAlivesOwnTerms() {
        var c = controller()
        var instances = 1
        var reasons: [String] = []
        for second in 0..<600 {
            let t = Double(second)
            if second % 15 == 0 {
                c.invocationFinished(arrived: at(t + 0.2), milliseconds: 70, on: .cpu(cores: 1), warmAndSuccessful: true)
            }
            for case .scale(_, let to, let reason) in c.evaluate(at: at(t + 0.5), observing: FunctionObservation(requestsInPool: 0, instances: instances)) {
                instances = to
                reasons.append(reason)
            }
        }
        #expect(!reasons.isEmpty, "after enough history the instance is unloaded between requests and pre-warmed")
        for reason in reasons {
            #expect(reason.hasPrefix("idle for ") || reason.hasPrefix("pre-warm: idle for "), "\(reason)")
            #expect(!reason.contains("no traffic"), "\(reason)")
        }
        let unloads = reasons.filter { $0.contains("before the pre-warm point") }
        #expect(!unloads.isEmpty && unloads.allSatisfy { $0.hasPrefix("idle for 230 ms") }, "unloaded at the first tick after each request: \(unloads.prefix(2))")
        let prewarms = reasons.filter { $0.hasPrefix("pre-warm") }
        #expect(prewarms.count >= unloads.count - 1 && prewarms.allSatisfy { $0.hasPrefix("pre-warm: idle for 13 s, past the pre-warm point 13 s") }, "\(prewarms)")
    }

    @Test func loadScalesUpAndMinScaleHoldsAnIdleFunction() {
        var c = controller(minScale: 1)
        for t in 0..<10 { _ = c.evaluate(at: at(Double(t)), observing: FunctionObservation(requestsInPool: 3.5, instances: 1)) }
        let up = scales(c.evaluate(at: at(10), observing: FunctionObservation(requestsInPool: 3.5, instances: 1)))
        #expect(up.first?.to == 5 && up.first?.reason.hasPrefix("panic") == true, "\(up)")
        var idle = controller(minScale: 1)
        for t in stride(from: 0.0, through: 4000, by: 10) {
            let actions = scales(idle.evaluate(at: at(t), observing: FunctionObservation(requestsInPool: 0, instances: 1)))
            #expect(actions.isEmpty, "min scale 1 keeps the instance: \(actions)")
        }
    }

    @Test func invocationsReportedOutOfOrderNeitherBreakTheHistogramNorTheLatencyWindow() {
        var c = controller()
        // A long request (arrived at 10 s) is reported after a short one that arrived later.
        c.invocationFinished(arrived: at(12), milliseconds: 100, on: .cpu(cores: 1), warmAndSuccessful: true)
        c.invocationFinished(arrived: at(10), milliseconds: 5000, on: .cpu(cores: 1), warmAndSuccessful: true)
        _ = c.evaluate(at: at(16), observing: FunctionObservation(requestsInPool: 0, instances: 1))
        #expect(c.keepAlive.history == 0, "overlapping requests are no idle time")
        #expect(c.keepAlive.idle(at: at(20)) == .seconds(5), "idle since the long request ended at 15 s")
        var window = LatencyWindow(horizon: .seconds(30))
        window.record(100, on: .cpu(cores: 1), at: at(12))
        window.record(5000, on: .cpu(cores: 1), at: at(10))
        #expect(window.latencies(on: .cpu(cores: 1), over: .seconds(5), at: at(14)).sorted() == [100, 5000])
        #expect(window.latencies(on: .cpu(cores: 1), over: .seconds(3), at: at(14)) == [100], "the window is by arrival time")
    }

    /// On a share rung the hybrid autoscaler owns the time quota: a rising load raises the quota
    /// in place (vertical) before adding instances, within the room the device has.
    @Test func onAShareRungLoadGrowsTheQuotaFirstThenInstances() {
        let family = (1...10).map { Backend.gpu(device: 0, smPercent: 50, quotaPercent: $0 * 10) }
        let mode = ModeController(
            rungs: [.cpu(cores: 1)] + family, start: family[1], slo: SLO(statistic: .p95, thresholdMs: 200),
            model: LatencyModel(parallelFraction: 0.9), at: at(0))
        var c = FunctionController(autoscaler: AutoscalerSettings(), keepAlive: KeepAliveSettings(), mode: mode, at: at(0))
        var rung = family[1]
        var instances = 1
        var switches: [RungSwitch] = []
        var scaledTo: [Int] = []
        // 20 ms invocations; the rate climbs 5 req/s every 5 s up to 60 req/s.
        for second in 1...80 {
            let rate = min(60, 5 * (second / 5 + 1))
            for k in 0..<rate {
                c.invocationFinished(
                    arrived: at(Double(second) - 1 + Double(k) / Double(rate)), milliseconds: 20, serviceMilliseconds: 20, on: rung,
                    warmAndSuccessful: true)
            }
            for action in c.evaluate(at: at(Double(second)), observing: FunctionObservation(requestsInPool: Double(rate) * 0.02, instances: instances, deviceRoom: 100)) {
                switch action {
                case .switchRung(let s):
                    #expect(s.from.wholeTime == s.to.wholeTime, "the quota changes, not the SM share or device: \(s.from) -> \(s.to)")
                    switches.append(s)
                    c.switched(s, at: at(Double(second)))
                    rung = s.to
                case .scale(_, let to, _):
                    scaledTo.append(to)
                    instances = to
                }
            }
        }
        let quotas = switches.map(\.to.quotaPercent)
        #expect(quotas.count >= 3 && quotas.first! < quotas.last!, "the quota rose step by step: \(quotas)")
        #expect(rung.quotaPercent >= 90 && instances == 2, "60 req/s of 20 ms needs two instances near full quota: \(instances) × \(rung)")
        let firstScaleUp = scaledTo.firstIndex { $0 > 1 }
        #expect(firstScaleUp != nil)
        #expect(switches.first!.reason.contains("vertically"), "\(switches.first!.reason)")
    }
}
