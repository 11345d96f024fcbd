import Foundation
@testable import GaiaCore
import Testing

/// Configurations, not rungs: queueing predicted by M/M/c, the fewest instances that meet the SLO
/// within the room, and the mode controller weighing them.
struct ConfigurationPlannerTests {
    /// Erlang C for two servers with one unit of offered load is 1/3: the mean wait is
    /// C / (cμ − λ) = 1/3 s, added to a 1 s mean service.
    @Test func meanLatencyIsServicePlusTheErlangCWait() {
        let predicted = ConfigurationPlanner.latency(statistic: .mean, serviceStatMs: 1000, meanMs: 1000, servers: 2, rate: 1)
        #expect(abs(predicted - 1000 - 1000.0 / 3) < 1e-6, "\(predicted)")
        #expect(ConfigurationPlanner.latency(statistic: .p95, serviceStatMs: 1000, meanMs: 1000, servers: 1, rate: 1) == .infinity, "an unstable queue")
    }

    /// An M/M/1 queue's response time is exponential with rate μ − λ: its p95 is ln 20 / (μ − λ).
    /// The planner adds the service time's own p95 to the wait's: never below the exact figure, and
    /// within a factor of two of it.
    @Test(arguments: [0.2, 0.5, 0.8])
    func aPercentileIsConservativeButClose(_ utilization: Double) {
        let mu = 10.0  // per second: 100 ms mean service
        let exact = log(20) / (mu - utilization * mu) * 1000
        let serviceP95 = log(20) / mu * 1000
        let predicted = ConfigurationPlanner.latency(statistic: .p95, serviceStatMs: serviceP95, meanMs: 100, servers: 1, rate: utilization * mu)
        #expect(predicted >= exact - 1e-9 && predicted <= 2 * exact, "utilization \(utilization): predicted \(predicted) ms, exact \(exact) ms")
    }

    /// A 2 s wait at one request a second under a 3 s p95: the fewest instances that keep the
    /// queue's tail under the SLO (fewer would not), none when the room holds too few.
    @Test func theFewestInstancesThatMeetTheSLOWithinTheRoom() throws {
        let slo = SLO(statistic: .p95, thresholdMs: 3000)
        let outlook = LoadOutlook(rate: 1, slots: 1, space: InstanceRoom(nodeCores: [10], gpus: 0))
        let plan = try #require(ConfigurationPlanner.cheapest(on: .cpu(cores: 1), serviceStatMs: 2100, meanMs: 2080, outlook: outlook, slo: slo, prices: PriceTable()))
        #expect(plan.predictedMs <= 3000)
        let fewer = ConfigurationPlanner.latency(statistic: .p95, serviceStatMs: 2100, meanMs: 2080, servers: plan.instances - 1, rate: 1)
        #expect(fewer > 3000, "\(plan.instances - 1) instances would do: \(fewer) ms")
        let cramped = LoadOutlook(rate: 1, slots: 1, space: InstanceRoom(nodeCores: [plan.instances - 1], gpus: 0))
        #expect(ConfigurationPlanner.cheapest(on: .cpu(cores: 1), serviceStatMs: 2100, meanMs: 2080, outlook: cramped, slo: slo, prices: PriceTable()) == nil)
        #expect(ConfigurationPlanner.cheapest(on: .cpu(cores: 1), serviceStatMs: 3100, meanMs: 3000, outlook: outlook, slo: slo, prices: PriceTable()) == nil, "a service time over the SLO")
    }

    /// A function whose own service time meets the SLO but whose requests queue is not promoted
    /// when the controller knows the load and the room (more instances fix it); without that
    /// knowledge it is, as before.
    @Test func queueingIsNotTakenForSlowService() throws {
        let t0 = ContinuousClock.now
        func controller() -> ModeController {
            ModeController(
                rungs: (1...4).map { .cpu(cores: $0) }, start: .cpu(cores: 1), slo: SLO(statistic: .p95, thresholdMs: 3000),
                model: LatencyModel(parallelFraction: 0), at: t0)
        }
        var informed = controller()
        var blind = controller()
        for i in 0..<40 {
            let at = t0.advanced(by: .milliseconds(500 * i))
            informed.record(latencyMs: 3600, serviceMs: 2090, on: .cpu(cores: 1), at: at)
            blind.record(latencyMs: 3600, serviceMs: 2090, on: .cpu(cores: 1), at: at)
        }
        let outlook = LoadOutlook(rate: 1, slots: 1, space: InstanceRoom(nodeCores: [16], gpus: 0))
        let now = t0.advanced(by: .seconds(20))
        #expect(informed.evaluate(at: now, outlook: outlook) == nil)
        #expect(blind.evaluate(at: now)?.direction == .promote)
    }

    /// A move's reason names the configurations it compared (the cheapest first, with their
    /// predicted statistic and cost), not the winner alone.
    @Test func aPromotionNamesTheConfigurationsItCompared() throws {
        let t0 = ContinuousClock.now
        var mode = ModeController(
            rungs: (1...4).map { .cpu(cores: $0) }, start: .cpu(cores: 1), slo: SLO(statistic: .p95, thresholdMs: 3000),
            model: LatencyModel(parallelFraction: 0.9), at: t0)
        for i in 0..<40 {
            mode.record(latencyMs: 3600, serviceMs: 3500, on: .cpu(cores: 1), at: t0.advanced(by: .milliseconds(500 * i)))
        }
        let outlook = LoadOutlook(rate: 0.2, slots: 1, space: InstanceRoom(nodeCores: [16], gpus: 0))
        let evaluated = mode.evaluate(at: t0.advanced(by: .seconds(20)), outlook: outlook)
        let promotion = try #require(evaluated)
        #expect(promotion.to == .cpu(cores: 2), "\(promotion.reason)")
        let compared = try #require(promotion.reason.components(separatedBy: "(compared ").last)
        #expect(compared.contains("× cpu-2 (≈") && compared.contains("× cpu-3 (≈") && compared.contains("× cpu-4 (≈"), "\(promotion.reason)")
        #expect(compared.range(of: "cpu-2")!.lowerBound < compared.range(of: "cpu-3")!.lowerBound, "the cheapest first")
    }

    /// A time quota stretches service: an instance holding half the SMs 20% of the time serves a
    /// 150 ms request in about 750 ms, so it is no demotion target under a 500 ms SLO, however
    /// cheap (the planner once took it for a full-time instance at a fifth of the price). Its
    /// full-time sibling at the same SM share is, when the load is light.
    @Test func aTimeQuotaStretchesServiceInThePlan() throws {
        let t0 = ContinuousClock.now
        let whole = Backend.gpu(device: 0, smPercent: 100)
        let quarterTime = Backend.gpu(device: 0, smPercent: 100, quotaPercent: 20)
        var mode = ModeController(
            rungs: [quarterTime, whole], start: whole, slo: SLO(statistic: .p95, thresholdMs: 500),
            model: LatencyModel(parallelFraction: 0.9), at: t0)
        for i in 0..<400 {
            mode.record(latencyMs: 150, serviceMs: 150, on: whole, at: t0.advanced(by: .milliseconds(500 * i)))
        }
        let outlook = LoadOutlook(rate: 0.5, slots: 1, space: InstanceRoom(nodeCores: [16], gpus: 1))
        #expect(mode.evaluate(at: t0.advanced(by: .seconds(200)), outlook: outlook) == nil, "no demotion to a 20% quota under 500 ms")
        var loose = ModeController(
            rungs: [quarterTime, whole], start: whole, slo: SLO(statistic: .p95, thresholdMs: 5000),
            model: LatencyModel(parallelFraction: 0.9), at: t0)
        for i in 0..<400 {
            loose.record(latencyMs: 150, serviceMs: 150, on: whole, at: t0.advanced(by: .milliseconds(500 * i)))
        }
        let evaluated = loose.evaluate(at: t0.advanced(by: .seconds(200)), outlook: outlook)
        let demotion = try #require(evaluated)
        #expect(demotion.to == quarterTime, "under 5 s the stretched 750 ms fits: \(demotion.reason)")
        // The plan's figure is the stretched service (750 ms) and its queueing, not 150 ms.
        let figure = demotion.reason.components(separatedBy: "gpu0q20 (≈ ").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
        #expect((figure ?? 0) >= 750, "\(demotion.reason)")
        // The plan carries the mean it was made with, stretched: the instance count for a backlog
        // (`FunctionController`) reads it rather than the unstretched 150 ms.
        let planned = try #require(loose.plan(quarterTime, outlook))
        #expect(abs(planned.meanServiceMs - 750) < 1, "\(planned.meanServiceMs)")
    }
}

#if canImport(Glibc)
import Glibc
#endif
