import GaiaCore
import Testing

/// No setting the API, a configuration file or an old database can express makes a function's
/// controller trap: seeded random settings at and beyond every bound (minimum above maximum, zero
/// and huge windows, NaN and negative rates, quotas, concurrency, batches) driven by random event
/// sequences. (A stored `min_scale` above the default maximum once crashed the server at every
/// start: `minScale...maxScale` with the bounds crossed.)
struct ControllerSettingsPropertyTests {
    /// Values at and beyond the bounds, and some ordinary ones.
    static let counts = [Int.min, -1, 0, 1, 2, 3, 10, 11, 999, 1000, 1001, 1_000_000, Int.max]
    static let doubles = [-.infinity, -1, 0, 1e-300, 0.5, 0.7, 1, 2, 100, 1e300, .infinity, .nan]
    static let durations: [Duration] = [.zero, .nanoseconds(1), .milliseconds(1), .seconds(1), .seconds(6), .seconds(60), .seconds(86_400 * 365), .seconds(-5)]

    static func pick<T>(_ values: [T], _ random: inout SplitMix64) -> T { values[Int(random.next() % UInt64(values.count))] }

    static func settings(_ random: inout SplitMix64) -> FunctionPolicyInputs {
        var autoscaler = AutoscalerSettings()
        autoscaler.minScale = pick(counts, &random)
        autoscaler.maxScale = pick(counts, &random)
        autoscaler.targetConcurrency = pick(doubles, &random)
        autoscaler.stableWindow = pick(durations, &random)
        autoscaler.panicWindow = pick(durations, &random)
        autoscaler.panicThreshold = pick(doubles, &random)
        autoscaler.maxScaleUpRate = pick(doubles, &random)
        autoscaler.maxScaleDownRate = pick(doubles, &random)
        var keepAlive = KeepAliveSettings()
        keepAlive.mode = pick([.adaptive, .fixed(seconds: 0), .fixed(seconds: 2), .fixed(seconds: 1e300), .fixed(seconds: .nan), .fixed(seconds: -1)], &random)
        keepAlive.prewarm = random.next() & 1 == 0
        keepAlive.fallback = pick(durations, &random)
        keepAlive.minHistory = pick(counts, &random)
        keepAlive.bucket = pick(durations, &random)
        keepAlive.range = pick(durations, &random)
        keepAlive.margin = pick(doubles, &random)
        keepAlive.minKeepAlive = pick(durations, &random)
        keepAlive.minPrewarm = pick(durations, &random)
        keepAlive.maxOutOfRange = pick(doubles, &random)
        var controller = ModeControllerSettings()
        controller.window = pick(durations, &random)
        controller.minSamples = pick(counts, &random)
        controller.cooldown = pick(durations, &random)
        controller.demotionWindow = pick(durations, &random)
        controller.demotionMargin = pick(doubles, &random)
        controller.minImprovement = pick(doubles, &random)
        controller.driftFactor = pick(doubles, &random)
        controller.minCertainSamples = pick(counts, &random)
        controller.failedRungRetry = pick(durations, &random)
        let ladders = [
            BackendLadder(cpuCores: 2),
            BackendLadder(cpuCores: 16, gpuDevices: 2, shares: ShareGrid(smPercents: [25, 50], quotaPercents: [50, 100])),
            BackendLadder(cpuCores: 1, gpuDevices: 1, shares: ShareGrid(smPercents: [], quotaPercents: [25, 50, 100])),
        ]
        let ladder = pick(ladders, &random)
        let slo = pick(
            [nil, SLO(statistic: .p95, thresholdMs: 300), SLO(statistic: .p99, thresholdMs: 0, windowSeconds: 0),
             SLO(statistic: .mean, thresholdMs: 1e300, windowSeconds: 1e16), SLO(statistic: .p50, thresholdMs: .nan, windowSeconds: .nan)], &random)
        var inputs = FunctionPolicyInputs(
            ladder: ladder, mode: pick([.cpu, .cpuPreferred, .gpuPreferred, .gpu], &random), slo: slo,
            concurrency: pick(counts, &random), autoscaler: autoscaler, keepAlive: keepAlive, controller: controller)
        inputs.hybrid.targetUtilization = pick(doubles, &random)
        inputs.hybrid.shrinkCooldown = pick(durations, &random)
        inputs.gpuMemoryMiB = pick([nil, 0, 1, 81_920, Int.max], &random)
        inputs.instanceMiB = pick([nil, 0, 1, 2048, Int.max], &random)
        if random.next() % 4 == 0 { inputs.pinned = pick(ladder.rungs, &random) }
        return inputs
    }

    @Test(arguments: 0..<8)
    func randomSettingsAndEventsNeverTrap(batch: Int) {
        var random = SplitMix64(seed: 0x5E77_1265 &+ UInt64(batch))
        let t0 = ContinuousClock.now
        for _ in 0..<60 {
            let inputs = Self.settings(&random)
            var controller = FunctionController(inputs, at: t0, loaded: random.next() & 1 == 0)
            var now = t0
            var instances = 0
            for _ in 0..<120 {
                now = now.advanced(by: Self.pick([.zero, .milliseconds(1), .milliseconds(400), .seconds(1), .seconds(7), .seconds(3600)], &random))
                for _ in 0..<Int(random.next() % 6) {
                    let arrived = now.advanced(by: .milliseconds(-Int64(random.next() % 5000)))
                    controller.invocationFinished(
                        arrived: arrived, milliseconds: Self.pick(Self.doubles, &random),
                        serviceMilliseconds: Self.pick([nil, 0, 5, 300, .nan, -1, 1e300], &random),
                        on: Self.pick(inputs.ladder.rungs, &random), warmAndSuccessful: random.next() % 5 != 0,
                        batch: Self.pick(Self.counts, &random))
                }
                let observation = FunctionObservation(
                    requestsInPool: Self.pick(Self.doubles, &random), instances: instances,
                    deviceRoom: Self.pick([-1, 0, 50, 100, 1e300, .nan], &random))
                for action in controller.evaluate(at: now, observing: observation) {
                    switch action {
                    case .scale(_, let to, _):
                        #expect(to >= 0, "a negative instance count")
                        instances = to
                    case .switchRung(let rungSwitch):
                        if random.next() % 3 == 0 {
                            controller.switchFailed(rungSwitch, reason: "test", at: now)
                        } else {
                            controller.switched(rungSwitch, at: now)
                        }
                    }
                }
                if random.next() % 10 == 0 { instances = Int(random.next() % 20) }  // crashes, queue starts
            }
        }
    }

    /// Crossed bounds resolve one way: the maximum wins (the minimum is lowered to it), and neither
    /// is negative.
    @Test func crossedScaleBoundsResolveToTheMaximum() {
        var settings = AutoscalerSettings()
        settings.minScale = 11
        settings.maxScale = 10
        #expect(settings.scaleBounds == 10...10)
        settings.minScale = -3
        settings.maxScale = -7
        #expect(settings.scaleBounds == 0...0)
        var autoscaler = Autoscaler(settings: AutoscalerSettings())
        autoscaler.settings.minScale = 1000
        let now = ContinuousClock.now
        #expect(autoscaler.evaluate(current: 0, at: now).desired == 10)
        autoscaler.record(concurrency: 3, at: now)
        #expect(autoscaler.evaluate(current: 2, at: now).desired == 10)
    }
}
