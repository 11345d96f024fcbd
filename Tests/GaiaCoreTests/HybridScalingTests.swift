import GaiaCore
import Foundation
import Testing

/// The performance predictor and the hybrid autoscaler, on synthetic curves and a manual clock.
struct PerformancePredictorTests {
    @Test func fitsTheCurveOfSharesAndReportsItsError() {
        var p = PerformancePredictor(priorFraction: 0.5)
        var random = SplitMix64(seed: 7)
        // True curve: 4 ms + 800 ms·share⁻¹ on GPU shares (core equivalents 8, 16, 32), ±5% noise.
        for i in 0..<300 {
            let sm = [25, 50, 100][i % 3]
            let rung = Backend.gpu(device: 0, smPercent: sm, quotaPercent: 50)
            let share = rung.computeShare
            p.observe(serviceMs: (4 + 800 / share) * random.uniform(0.95, 1.05), on: rung)
        }
        let curve = p.curve(.gpu)!
        #expect(abs(curve.a - 4) < 1.5 && abs(curve.b - 800) < 25, "\(curve)")
        #expect(abs(p.serviceMs(on: .gpu(device: 0, smPercent: 75))! - (4 + 800 / 24)) < 2)
        #expect(p.error! < 5, "held-out error \(p.error!)% with ±5% noise")
        #expect(p.serviceMs(on: .cpu(cores: 2)) == nil, "nothing measured on CPU rungs")
    }

    @Test func amdahlOfCPURungsIsTheSpecialCase() {
        var p = PerformancePredictor(priorFraction: 0)
        // T = 100 ms, p = 0.8: t(c) = 20 + 80 / c.
        for cores in [1, 2, 4] { for _ in 0..<5 { p.observe(serviceMs: 20 + 80 / Double(cores), on: .cpu(cores: cores)) } }
        #expect(abs(p.serviceMs(on: .cpu(cores: 8))! - 30) < 1e-6)
        #expect(p.error! < 1e-6)
    }

    @Test func oneShareFallsBackToThePrior() {
        var p = PerformancePredictor(priorFraction: 0.9)
        for _ in 0..<5 { p.observe(serviceMs: 100, on: .cpu(cores: 1)) }
        // T = 100 on one core, 90% parallel: 10 + 90 / 2 on two.
        #expect(abs(p.serviceMs(on: .cpu(cores: 2))! - 55) < 1e-9)
        #expect(p.error == nil, "too few samples to hold any out")
    }

    @Test func throughputScalesWithQuotaSlotsAndBatch() {
        var p = PerformancePredictor(priorFraction: 0.5)
        for _ in 0..<3 { p.observe(serviceMs: 50, on: .gpu(device: 0, smPercent: 50, quotaPercent: 40)) }
        #expect(abs(p.throughput(on: .gpu(device: 0, smPercent: 50, quotaPercent: 40))! - 8) < 1e-9)
        #expect(abs(p.throughput(on: .gpu(device: 0, smPercent: 50, quotaPercent: 100), slots: 2)! - 40) < 1e-9)
        #expect(p.throughput(on: .gpu(device: 0, smPercent: 50), batch: 8) == nil, "batch 8 not measured")
    }
}

struct HybridAutoscalerTests {
    static let family = (1...10).map { Backend.gpu(device: 0, smPercent: 50, quotaPercent: $0 * 10) }
    static let t0 = ContinuousClock.now

    /// A predictor that measured 20 ms on the SM-50 family.
    static var predictor: PerformancePredictor {
        var p = PerformancePredictor(priorFraction: 0.9)
        for _ in 0..<10 { p.observe(serviceMs: 20, on: .gpu(device: 0, smPercent: 50, quotaPercent: 30)) }
        return p
    }

    static func scaler(rate: Double) -> (HybridAutoscaler, Double) { (HybridAutoscaler(), rate) }

    @Test func growsVerticallyBeforeHorizontally() {
        // 20 ms at quota q serves 50·q req/s; 13 req/s at ≤ 70% busy needs q ≥ 40% (37%) on one instance.
        var (h, rate) = Self.scaler(rate: 13)
        let d = h.evaluate(
            at: Self.t0 + .seconds(10), demand: rate, current: ShareConfiguration(instances: 1, rung: Self.family[1]), quotas: Self.family,
            maxInstances: 4, room: 100, thresholdMs: 200, predictor: Self.predictor, prices: PriceTable())
        #expect(d.configuration == ShareConfiguration(instances: 1, rung: Self.family[3]), "\(d.reason)")
        #expect(d.reason.contains("vertically"))
    }

    @Test func growsHorizontallyWhenNoQuotaSuffices() {
        // 60 req/s: one instance at 100% serves 50 (35 at 70% busy): two instances are needed.
        var (h, rate) = Self.scaler(rate: 60)
        let d = h.evaluate(
            at: Self.t0 + .seconds(10), demand: rate, current: ShareConfiguration(instances: 1, rung: Self.family[9]), quotas: Self.family,
            maxInstances: 4, room: 100, thresholdMs: 200, predictor: Self.predictor, prices: PriceTable())
        #expect(d.configuration.instances == 2 && d.configuration.rung.quotaPercent >= 90, "\(d.configuration) \(d.reason)")
        #expect(d.reason.contains("horizontally"))
    }

    @Test func choosesTheCheapestThatMeetsTheSLOAndShrinksOnlyAfterTheCooldown() {
        var (h, rate) = Self.scaler(rate: 60)
        let big = ShareConfiguration(instances: 4, rung: Self.family[9])
        // Just changed (the growth above): no shrink within the cooldown.
        var d = h.evaluate(
            at: Self.t0 + .seconds(10), demand: rate, current: ShareConfiguration(instances: 1, rung: Self.family[0]), quotas: Self.family,
            maxInstances: 4, room: 100, thresholdMs: 200, predictor: Self.predictor, prices: PriceTable())
        #expect(d.configuration != ShareConfiguration(instances: 1, rung: Self.family[0]))
        d = h.evaluate(
            at: Self.t0 + .seconds(20), demand: rate, current: big, quotas: Self.family, maxInstances: 4, room: 200, thresholdMs: 200,
            predictor: Self.predictor, prices: PriceTable())
        #expect(d.configuration == big, "within the 30 s cooldown: \(d.reason)")
        d = h.evaluate(
            at: Self.t0 + .seconds(45), demand: rate, current: big, quotas: Self.family, maxInstances: 4, room: 200, thresholdMs: 200,
            predictor: Self.predictor, prices: PriceTable())
        // Cheapest meeting 60 req/s at ≤ 70%: total quota ≥ 60 / 35 = 1.72 instances' worth; prices
        // are linear in quota with a fixed host share per instance, so 2 × 90%.
        #expect(d.configuration == ShareConfiguration(instances: 2, rung: Self.family[8]), "\(d.reason)")
    }

    @Test func sharesOnOneGPUNeverPass100Percent() {
        // Room for 30% of the GPU (others hold the rest): SM 50 × quota q × n ≤ 30 → n·q ≤ 60%.
        var (h, rate) = Self.scaler(rate: 60)
        let d = h.evaluate(
            at: Self.t0 + .seconds(10), demand: rate, current: ShareConfiguration(instances: 1, rung: Self.family[0]), quotas: Self.family,
            maxInstances: 4, room: 30, thresholdMs: 200, predictor: Self.predictor, prices: PriceTable())
        let c = d.configuration
        #expect(Double(c.instances * c.rung.smPercent * c.rung.quotaPercent) / 100 <= 30, "\(c)")
        #expect(d.reason.contains("no configuration"))
    }

    @Test func demandFollowsARiseWithinThePanicWindowAndAFallOnlyOverTheStableWindow() {
        var d = DemandEstimate(stableWindow: .seconds(60), panicWindow: .seconds(6))
        #expect(!d.measured && d.planned == 0)
        // 60 s at 4 req/s, then 8 req/s: followed within the panic window.
        for s in 1...60 { d.record(arrivals: 4, over: .seconds(1), at: Self.t0 + .seconds(s)) }
        #expect(abs(d.planned - 4) < 1e-9)
        for s in 61...66 { d.record(arrivals: 8, over: .seconds(1), at: Self.t0 + .seconds(s)) }
        #expect(abs(d.planned - 8) < 1e-9, "the panic window's rate: \(d.planned)")
        // Then nothing for 10 s: the plan stays at the stable window's mean, (54·4 + 6·8) / 60.
        for s in 67...76 { d.record(arrivals: 0, over: .seconds(1), at: Self.t0 + .seconds(s)) }
        #expect(abs(d.planned - (44 * 4 + 6 * 8) / 60.0) < 1e-9, "\(d.planned)")
        // Silence over the whole stable window: nothing to plan for.
        for s in 77...140 { d.record(arrivals: 0, over: .seconds(1), at: Self.t0 + .seconds(s)) }
        #expect(d.planned == 0)
        // Over less history than a window, the rate is over the history there is; a negative count
        // (a pool that shrank more than finished) is none.
        var short = DemandEstimate()
        short.record(arrivals: 3, over: .milliseconds(500), at: Self.t0)
        short.record(arrivals: -5, over: .milliseconds(500), at: Self.t0 + .seconds(1))
        #expect(abs(short.planned - 3) < 1e-9)
        #expect(abs(short.stableRate! - 3) < 1e-9 && abs(short.panicRate! - 3) < 1e-9)
    }

    /// One-second counts of a Poisson stream at 4 req/s: the plan stays near 4 (a lull of a few
    /// seconds is not a fall), never below the stable window's mean.
    @Test func poissonCountsGiveASteadyPlan() {
        var random = SplitMix64(seed: 7)
        var d = DemandEstimate()
        var plans: [Double] = []
        for s in 1...600 {
            // Poisson(4) by inversion.
            var k = 0.0, p = exp(-4.0), cdf = p
            let u = Double(random.next() >> 11) * 0x1.0p-53
            while u > cdf { k += 1; p *= 4 / k; cdf += p }
            d.record(arrivals: k, over: .seconds(1), at: Self.t0 + .seconds(s))
            if s >= 60 { plans.append(d.planned) }
        }
        #expect(plans.min()! > 3, "\(plans.min()!)")
        #expect(plans.max()! < 8, "\(plans.max()!)")
    }
}

struct BatchPolicyTests {
    static let t0 = ContinuousClock.now

    @Test func neverHoldsARequestPastItsBudget() {
        // Random arrivals, random service curves: whenever the policy says wait, the wait ends
        // early enough for the oldest request to finish the larger batch within its budget.
        var random = SplitMix64(seed: 3)
        for _ in 0..<10_000 {
            let policy = BatchPolicy(maxBatch: Int(random.uniform(2, 16)), budgetMs: random.uniform(10, 500))
            let count = Int(random.uniform(1, Double(policy.maxBatch)))
            let perItem = random.uniform(0.5, 40)
            let fixed = random.uniform(0, 50)
            let measured = random.uniform(0, 1) < 0.5
            let service: (Int) -> Double? = { k in measured || k == 1 ? fixed + perItem * Double(k) : nil }
            let waited = random.uniform(0, 600)
            let now = Self.t0 + .clamped(milliseconds: waited)
            let decision = policy.decide(count: count, oldest: Self.t0, now: now, rate: random.uniform(0.1, 500), serviceMs: service)
            if case .wait(let until) = decision {
                let finish = (until - Self.t0).inMilliseconds + (service(count + 1) ?? service(1)! * Double(count + 1))
                #expect(finish <= policy.budgetMs + 1e-6, "\(policy) \(count) waited \(waited)")
                #expect(until > now)
            }
        }
    }

    @Test func sendsWhenFullOrNothingMoreIsExpectedInTime() {
        let policy = BatchPolicy(maxBatch: 4, budgetMs: 100)
        let service: (Int) -> Double? = { 10 + 2 * Double($0) }
        #expect(policy.decide(count: 4, oldest: Self.t0, now: Self.t0, rate: 1000, serviceMs: service) == .send)
        #expect(policy.decide(count: 1, oldest: Self.t0, now: Self.t0, rate: 1, serviceMs: service) == .send, "the next request is due in 1 s, past the budget")
        guard case .wait(let until) = policy.decide(count: 1, oldest: Self.t0, now: Self.t0, rate: 100, serviceMs: service) else {
            Issue.record("100 req/s: the next one is due in 10 ms")
            return
        }
        #expect(until == Self.t0 + .milliseconds(20))
        #expect(policy.decide(count: 2, oldest: Self.t0, now: Self.t0 + .milliseconds(90), rate: 100, serviceMs: service) == .send, "past the budget")
    }

    @Test func sendsAtOnceWhenBatchingIsMeasuredToBringNothing() {
        let policy = BatchPolicy(maxBatch: 8, budgetMs: 1000)
        #expect(policy.decide(count: 2, oldest: Self.t0, now: Self.t0, rate: 100, serviceMs: { 10 * Double($0) }) == .send)
    }
}
