/// The Dynamic Function Runtime's decision maker for one function: which rung of the ladder it
/// should run on. A value with time as an input; the runtime records latencies into it, asks
/// `evaluate(at:)` every tick, carries out the `RungSwitch` it returns (warming the new rung
/// first) and reports back with `commit` or `abandon`.
///
/// - Promote when the SLO statistic over the window, from at least `minSamples` invocations on the
///   current rung, is over the threshold: to the cheapest higher rung the latency model expects to
///   meet the SLO within the cost ceiling; when the model expects none to and still rests on its
///   prior (no two rungs measured yet), to the cheapest rung not yet measured (the prediction is
///   only a guess); else to the fastest predicted rung if it is at least `minImprovement` better;
///   else stay.
/// - A slow function at a low rate: when fewer than `minSamples` invocations fall in the window but
///   at least `minCertainSamples` over `demotionWindow` all missed the threshold, the violation is
///   certain and is judged as above (promotion, or the comparison after one).
/// - After a promotion, once the new rung has `minSamples` invocations, compare: if the statistic
///   improved by less than `minImprovement`, demote back ("no improvement", as measured). Both
///   rungs are then measured, and the rung is not promoted to again for `failedRungRetry`. Except
///   when the promotion was to more of the same hardware and the statistic rose over `driftFactor`
///   × the one before: the inputs or the load grew during the move (matmul with growing sizes on
///   an H100 machine went cpu-1 → cpu-2 and straight back). The model keeps only the new rung's
///   figure (the others describe smaller inputs, and fitted together they say more cores do not
///   help) and the violation is judged on the new rung, towards the fastest predicted rung.
/// - Demote when the function has been on its rung for `demotionWindow`, meets the SLO, and a
///   cheaper rung is predicted at or under `demotionMargin` × threshold: to the cheapest such.
/// - Low load: when the rung has served fewer than `minSamples` invocations over `demotionWindow`,
///   latency cannot be judged and the rung's extra capacity mostly idles: step one rung down,
///   never below the start rung, and never to a rung the model expects to miss the SLO.
/// - Nothing happens within `cooldown` of the last switch.
/// - A rung that failed to start is marked failed with the reason and not chosen again for
///   `failedRungRetry`; the function stays where it is.
public struct ModeController: Sendable {
    /// The rungs the function may use, in ladder order.
    public let rungs: [Backend]
    /// Where the function starts, and the lowest rung a low-load demotion goes to.
    public let start: Backend
    /// The objective.
    public let slo: SLO
    /// How cautious it is.
    public let settings: ModeControllerSettings
    /// Prices, for the cost ceiling.
    public var prices: PriceTable
    /// The rung the function runs on now.
    public private(set) var current: Backend
    /// What it has learned about each rung.
    public private(set) var model: LatencyModel
    private var window: LatencyWindow
    /// When the function arrived on `current`.
    private var since: ContinuousClock.Instant
    /// The last promotion, until its improvement has been measured.
    private var promotion: (from: Backend, before: Double, service: Double?)?
    /// The current rung's service-time statistic at the last evaluation that measured it, and at
    /// the first since it became current.
    private var lastService: Double?
    private var firstService: Double?
    /// Rungs a promotion to which brought no improvement, and when: not promoted to again for
    /// `failedRungRetry` (without this a function under a load no rung can serve goes back and forth).
    private var noImprovement: [Backend: ContinuousClock.Instant] = [:]
    /// Rungs that failed to start: why, and when.
    public private(set) var failed: [Backend: (reason: String, at: ContinuousClock.Instant)] = [:]

    /// A controller for a function starting on `start` at `now`.
    public init(
        rungs: [Backend], start: Backend, slo: SLO?, model: LatencyModel, prices: PriceTable = PriceTable(),
        settings: ModeControllerSettings = ModeControllerSettings(), at now: ContinuousClock.Instant
    ) {
        self.rungs = rungs.contains(start) ? rungs : (rungs + [start]).sorted()
        self.start = start
        self.slo = (slo ?? .default).bounded
        self.settings = settings.bounded
        self.prices = prices
        self.current = start
        self.model = model
        self.since = now
        let sloWindow = Duration.clamped(seconds: self.slo.windowSeconds ?? 0)
        self.window = LatencyWindow(horizon: max(self.settings.window, self.settings.demotionWindow, sloWindow))
        window.follow(start, over: self.sloWindow, since: now)
    }

    /// The window the SLO statistic is computed over.
    public var sloWindow: Duration {
        slo.windowSeconds.map { .clamped(seconds: $0) } ?? settings.window
    }

    /// Records one successful warm invocation (cold starts and failures are not latency of a rung):
    /// its latency, judged against the SLO, and the part the function ran (`serviceMs`, without
    /// queueing; the latency when unknown), from which the latency model learns what a rung does.
    public mutating func record(latencyMs: Double, serviceMs: Double? = nil, on backend: Backend, at now: ContinuousClock.Instant) {
        window.record(latencyMs, service: serviceMs, on: backend, at: Moment(now))
    }

    mutating func record(latencyMs: Double, serviceMs: Double?, on backend: Backend, at now: Moment) {
        window.record(latencyMs, service: serviceMs, on: backend, at: now)
    }

    /// The current rung's latencies and service times over `over`, since it became current.
    private func recent(over: Duration, at now: ContinuousClock.Instant) -> (latencies: [Double], service: [Double]) {
        window.latenciesAndServiceTimes(on: current, over: over, at: now, since: since)
    }

    /// What 1,000 invocations are expected to cost on a rung, from a latency.
    public func costPerThousand(_ milliseconds: Double, on backend: Backend) -> Double {
        milliseconds / 1000 * prices.perSecond(backend) * 1000
    }

    /// The switch to make now, if any. With an `outlook` (the load coming, the room, each rung's
    /// service time) it weighs configurations, rung × instances, not rungs: a violation that more
    /// instances of the current rung would fix is queueing, the autoscaler's to fix, not a reason
    /// to move; a move goes to the rung whose cheapest configuration meeting the SLO costs least;
    /// a demotion is made only when the target's configuration costs clearly less than the current
    /// one's and the saving repays the move (its instances' starts) within `moveHorizon`.
    public mutating func evaluate(at now: ContinuousClock.Instant, outlook: LoadOutlook? = nil) -> RungSwitch? {
        guard now - since >= settings.cooldown else { return nil }
        // The model learns the service time (what the rung itself does; queueing is the
        // autoscaler's to fix); the SLO is judged on latency.
        // The current rung's latencies over the SLO's window since it became current, kept sorted
        // as they are recorded (`LatencyWindow.follow`).
        if let (stat, service, count) = window.followedStatistic(slo.statistic, at: now), count >= settings.minSamples {
            model.observe(service, samples: count, on: current)
            let judged = judgePromotion(measured: stat, service: service, at: now)
            lastService = service
            if firstService == nil { firstService = service }
            if case .demote(let decision) = judged { return decision }
            if stat > slo.thresholdMs {
                if let outlook, queueing(service: service, outlook: outlook) { return nil }
                return promotion(measured: stat, at: now, drift: judged.drift, outlook: outlook)
            }
            return demotion(measured: stat, at: now, outlook: outlook)
        }
        if let (stat, service, count, over) = certainViolation(at: now) {
            model.observe(service ?? stat, samples: count, on: current)
            // A promotion is judged on at least `min_samples` invocations (over the longer window
            // here), not on the few that make a certain violation (3 noisy figures once kept a
            // function off a rung that helped).
            let judged = count >= settings.minSamples ? judgePromotion(measured: stat, service: service, at: now) : .none
            lastService = service
            if case .demote(let decision) = judged { return decision }
            if let outlook, let service, queueing(service: service, outlook: outlook) { return nil }
            let what = "all \(count) invocations over the last \(over) took longer than the SLO's \(ms(slo.thresholdMs)) (\(slo.statistic.rawValue) \(ms(stat))): too few for the statistic, but certainly a violation"
            return promotion(measured: stat, at: now, what: what, drift: judged.drift, outlook: outlook)
        }
        return lowLoadDemotion(at: now)
    }

    /// Traffic has moved to `decision.to`.
    public mutating func commit(_ decision: RungSwitch, at now: ContinuousClock.Instant) {
        promotion = decision.direction == .promote ? decision.measuredMs.map { (decision.from, $0, lastService) } : nil
        lastService = nil
        firstService = nil
        current = decision.to
        since = now
        window.follow(current, over: sloWindow, since: now)
    }

    /// The switch could not be made (the new rung failed to start): stay, wait a cooldown before
    /// trying anything again, and keep off the failed rung for `failedRungRetry`.
    public mutating func abandon(_ decision: RungSwitch, reason: String = "it failed to start", at now: ContinuousClock.Instant) {
        since = now
        window.follow(current, over: sloWindow, since: now)
        failed[decision.to] = (reason, now)
    }

    /// The rungs marked failed at `now`, with the reasons.
    public func failedRungs(at now: ContinuousClock.Instant) -> [Backend: String] {
        failed.filter { now - $0.value.at < settings.failedRungRetry }.mapValues(\.reason)
    }

    /// Whether a rung may be chosen at `now`: not marked failed within `failedRungRetry`, nor, going
    /// up, one whose promotion brought no improvement within that time.
    private func usable(_ rung: Backend, at now: ContinuousClock.Instant) -> Bool {
        if let failure = failed[rung], now - failure.at < settings.failedRungRetry { return false }
        if rung > current, let judged = noImprovement[rung], now - judged < settings.failedRungRetry { return false }
        return true
    }

    /// The device is full: `wanted` instances at the current SM share do not fit in `room`
    /// (percent of the device the function may hold), so a scale-out cannot happen. A smaller SM
    /// share of the ladder that fits them all (the largest such), else the smallest if it fits
    /// more instances than the current one; nil when none helps or within the cooldown.
    public func smallerShare(toFit wanted: Int, room: Double, at now: ContinuousClock.Instant) -> RungSwitch? {
        guard current.deviceClass == .gpu, !current.isShare, wanted > 0, now - since >= settings.cooldown,
            Double(wanted * current.smPercent) > room + 1e-9
        else { return nil }
        let smaller = rungs.filter { $0.deviceClass == .gpu && !$0.isShare && $0.smPercent < current.smPercent && usable($0, at: now) }
        func fits(_ rung: Backend) -> Int { ((max(0, room) + 1e-9) / Double(rung.smPercent)).rounded(.down).roundedInt }
        let target =
            smaller.filter { fits($0) >= wanted }.max { $0.smPercent < $1.smPercent }
            ?? smaller.min { $0.smPercent < $1.smPercent }.flatMap { fits($0) > fits(current) ? $0 : nil }
        guard let target else { return nil }
        return RungSwitch(
            from: current, to: target, direction: .demote, measuredMs: nil, predictedMs: model.predict(target),
            reason: "the GPU is full: \(wanted) instance(s) wanted, room for \(fits(current)) on \(current); \(target) fits \(min(fits(target), wanted))")
    }

    // MARK: Rules

    /// What the first measurement after a promotion says of it.
    private enum Judgement {
        /// No promotion to judge, or it improved the statistic.
        case none
        /// It brought no improvement: back to where it came from.
        case demote(RungSwitch)
        /// The inputs or the load grew during the move (why it is thought so).
        case drifted(String)

        var drift: String? { if case .drifted(let why) = self { why } else { nil } }
    }

    /// After a promotion, demote back if the new rung measured no real improvement, unless the
    /// statistic rose further than more of the same hardware can explain. Judged on service time
    /// where both rungs measured it (whether a rung is faster is its service time's to say; the
    /// queue a move leaves behind, or the one the new rung's fewer instances make, is not), else on
    /// latency.
    private mutating func judgePromotion(measured stat: Double, service: Double?, at now: ContinuousClock.Instant) -> Judgement {
        guard let (from, latencyBefore, serviceBefore) = promotion else { return .none }
        promotion = nil
        let (before, after, what) = serviceBefore.flatMap { b in service.map { (b, $0, "service time") } } ?? (latencyBefore, stat, "")
        guard after > before * (1 - settings.minImprovement) else { return .none }
        let figure = what.isEmpty ? slo.statistic.rawValue : "\(slo.statistic.rawValue) \(what)"
        if from.deviceClass == current.deviceClass, from.capacity < current.capacity, after > before * settings.driftFactor {
            model.keepOnly(current)
            let times = (after / before * 10).rounded() / 10
            return .drifted("\(figure) \(times)× the \(ms(before)) measured on \(from) before the move to the larger \(current): the inputs or the load grew, so the model keeps only \(current)'s figure")
        }
        noImprovement[current] = now
        return .demote(RungSwitch(
            from: current, to: from, direction: .demote, measuredMs: stat, predictedMs: model.predict(from),
            reason: "promotion from \(from) brought no improvement: \(figure) \(ms(before)) before, \(ms(after)) after"))
    }

    /// Too few invocations in the window for the statistic, but every one over the longer window
    /// missed the threshold: the statistic of their latencies and of their service times, their
    /// count and the window.
    private func certainViolation(at now: ContinuousClock.Instant) -> (Double, Double?, Int, Duration)? {
        let over = max(sloWindow, settings.demotionWindow)
        var (latencies, service) = recent(over: over, at: now)
        let count = latencies.count
        guard count >= max(1, settings.minCertainSamples), let fastest = latencies.min(), fastest > slo.thresholdMs,
            let stat = slo.statistic.of(reordering: &latencies)
        else { return nil }
        return (stat, slo.statistic.of(reordering: &service), count, over)
    }

    /// A promotion for a violation measured at `stat`; after a drift (why, in `drift`) it does not
    /// step through unmeasured rungs one at a time but goes to the fastest predicted when none is
    /// predicted to meet the SLO: the inputs are growing.
    private func promotion(
        measured stat: Double, at now: ContinuousClock.Instant, what: String? = nil, drift: String? = nil, outlook: LoadOutlook? = nil
    ) -> RungSwitch? {
        let candidates = rungs.filter { $0 > current && withinCeiling($0) && usable($0, at: now) }
        var what = what ?? "\(slo.statistic.rawValue) \(ms(stat)) over the last \(sloWindow) is above the SLO's \(ms(slo.thresholdMs))"
        if let drift { what += " (\(drift))" }
        if let outlook {
            let plans = self.plans(among: candidates, outlook)
            if let best = plans.first {
                return promote(
                    to: best.rung, measured: stat,
                    reason: "\(what); the cheapest configuration predicted to meet it at \(outlook.rateText) is \(best) (\(compared(plans, of: candidates)))")
            }
            // No configuration is predicted to meet it. A device class that has not run here is
            // tried once (a prediction across classes is a guess; a rung that brings no
            // improvement is not tried again for `failedRungRetry`).
            if drift == nil, let target = candidates.first(where: { !model.hasMeasured($0.deviceClass) }) {
                return promote(
                    to: target, measured: stat,
                    reason: "\(what); no configuration is predicted to meet it at \(outlook.rateText), so trying \(target), whose class has not run here")
            }
            // Else the rung whose room serves the most, if that is clearly more than this one's;
            // else only more instances (or less load) can help, and a rung that serves no more
            // would only cost a move.
            func throughput(_ rung: Backend) -> Double? {
                guard let mean = outlook.meanServiceMs(rung) ?? model.predict(rung), mean > 0 else { return nil }
                return Double(outlook.room(rung)) * Double(outlook.slots) * 1000 / mean
            }
            if let here = throughput(current) {
                let best = candidates.compactMap { r in throughput(r).map { (r, $0) } }.max { $0.1 < $1.1 }
                if let (target, serves) = best, serves > here * (1 + settings.minImprovement) {
                    return promote(
                        to: target, measured: stat,
                        reason: "\(what); no configuration meets it at \(outlook.rateText) within the room, and \(target) serves the most: \(serves.roundedInt) req/s against \(here.roundedInt)")
                }
                return nil
            }
        }
        if let target = candidates.first(where: { (model.predict($0) ?? .infinity) <= slo.thresholdMs }) {
            return promote(to: target, measured: stat, reason: "\(what); \(target) is predicted to meet it")
        }
        if !model.fitted, drift == nil, let target = candidates.first(where: { !model.isMeasured($0) }) {
            return promote(to: target, measured: stat, reason: "\(what); no rung is predicted to meet it, so trying \(target), not yet measured")
        }
        let fastest = candidates.compactMap { r in model.predict(r).map { (r, $0) } }.min { $0.1 < $1.1 }
        if let (target, predicted) = fastest, predicted <= stat * (1 - settings.minImprovement) {
            return promote(to: target, measured: stat, reason: "\(what); no rung meets it, \(target) comes closest")
        }
        return nil
    }

    private func promote(to target: Backend, measured stat: Double, reason: String) -> RungSwitch {
        RungSwitch(from: current, to: target, direction: .promote, measuredMs: stat, predictedMs: model.predict(target), reason: reason)
    }

    private func demotion(measured stat: Double, at now: ContinuousClock.Instant, outlook: LoadOutlook? = nil) -> RungSwitch? {
        guard now - since >= settings.demotionWindow else { return nil }
        if let outlook {
            // Configurations, not rungs: the cheaper rung must meet the SLO (with the margin) with
            // the instances the load needs there, fit the room, and cost clearly less in all.
            guard let here = plan(current, outlook) else { return nil }
            // Only to rungs of a class that has run here: a CPU rung predicted from a GPU's figure
            // is a guess, and a wrong one sends the function where it cannot keep up.
            // Nor to another class while this rung's service time has grown since it arrived here:
            // the inputs are growing, and the other class's figure is from smaller ones.
            let growing = (lastService ?? 0) > (firstService ?? .infinity) * (1 + settings.minImprovement)
            let cheaper = rungs.filter {
                $0 < current && usable($0, at: now) && withinCeiling($0) && model.hasMeasured($0.deviceClass)
                    && ($0.deviceClass == current.deviceClass || !growing)
            }
            let plans = self.plans(among: cheaper, outlook, margin: settings.demotionMargin)
            guard let there = plans.first, pays(from: here, to: there, outlook) else { return nil }
            return RungSwitch(
                from: current, to: there.rung, direction: .demote, measuredMs: stat, predictedMs: model.predict(there.rung),
                reason: "\(slo.statistic.rawValue) \(ms(stat)) meets the SLO's \(ms(slo.thresholdMs)); at \(outlook.rateText) \(there) costs less than \(here) and repays its start within \(settings.moveHorizon) (\(compared(plans, of: cheaper)))")
        }
        let limit = slo.thresholdMs * settings.demotionMargin
        guard let target = rungs.first(where: { $0 < current && usable($0, at: now) && (model.predict($0) ?? .infinity) <= limit })
        else { return nil }
        return RungSwitch(
            from: current, to: target, direction: .demote, measuredMs: stat, predictedMs: model.predict(target),
            reason: "\(slo.statistic.rawValue) \(ms(stat)) meets the SLO's \(ms(slo.thresholdMs)) and the cheaper \(target) is predicted at \(ms(model.predict(target)!)), within \((settings.demotionMargin * 100).roundedInt)% of it")
    }

    private func lowLoadDemotion(at now: ContinuousClock.Instant) -> RungSwitch? {
        guard current > start, now - since >= settings.demotionWindow,
            let target = rungs.last(where: { $0 < current && $0 >= start && usable($0, at: now) })
        else { return nil }
        let times = recent(over: settings.demotionWindow, at: now)
        var service = times.service
        let count = times.latencies.count
        guard count < settings.minSamples else { return nil }
        // Never down to a rung expected to miss the SLO: the few recent invocations' service times,
        // scaled to the target by the model, else the model's own prediction.
        let expected = slo.statistic.of(reordering: &service).map { model.scale($0, from: current, to: target) } ?? model.predict(target)
        guard (expected ?? 0) <= slo.thresholdMs else { return nil }
        return RungSwitch(
            from: current, to: target, direction: .demote, measuredMs: nil, predictedMs: expected,
            reason: "low load: \(count) invocations in the last \(settings.demotionWindow), too few to judge the SLO, so the cheaper \(target)"
                + (expected.map { ", expected at \(ms($0))" } ?? ""))
    }

    private func withinCeiling(_ rung: Backend) -> Bool {
        guard let ceiling = slo.maxCostPerThousand else { return true }
        guard let predicted = model.predict(rung) else { return true }
        return costPerThousand(predicted, on: rung) <= ceiling
    }

    private func ms(_ x: Double) -> String {
        x >= 100 ? (Int(exactly: x.rounded()).map { "\($0) ms" } ?? "\(x) ms") : "\((x * 10).rounded() / 10) ms"
    }
}
