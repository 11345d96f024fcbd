/// What the runtime measured of one function at a control tick.
public struct FunctionObservation: Sendable, Hashable {
    /// Requests in its pool now, running or waiting (what the autoscaler averages).
    public var requestsInPool: Double
    /// Its instances now, running or starting.
    public var instances: Int
    /// Percent of its device (SM × quota / 100, summed over its instances) it may hold: 100 less
    /// what other functions' share instances hold there.
    public var deviceRoom: Double

    /// An observation.
    public init(requestsInPool: Double, instances: Int, deviceRoom: Double = 100) {
        self.requestsInPool = requestsInPool
        self.instances = instances
        self.deviceRoom = deviceRoom
    }
}

/// One thing the runtime must do for a function, with the reason the deciding rule gave.
public enum RuntimeAction: Sendable, Hashable {
    /// Start or stop instances so that `to` run (from `from` now).
    case scale(from: Int, to: Int, reason: String)
    /// Move the function to another rung (warming it first); report back with `switched` or
    /// `switchFailed`.
    case switchRung(RungSwitch)
}

/// The whole control policy of one function, as one value with time as an input: how many
/// instances (the autoscaler), whether an idle function keeps or pre-warms one (the keep-alive
/// policy, its only owner), and which rung it runs on (the mode controller). The live runtime and
/// the simulator both feed it finished invocations and an observation per tick and carry out the
/// actions it returns; it does no I/O and reads no clock.
public struct FunctionController: Sendable {
    /// Instances for the load.
    public private(set) var autoscaler: Autoscaler
    /// Keep-alive and pre-warm of an idle function.
    public private(set) var keepAlive: KeepAlivePolicy
    /// Which rung.
    public private(set) var mode: ModeController
    /// Service time per rung, share and batch size, learned as it runs.
    public private(set) var predictor: PerformancePredictor
    /// Instances × time quota on a share rung.
    public private(set) var hybrid: HybridAutoscaler
    /// The request rate to plan for (the hybrid autoscaler's and the configuration planner's).
    public private(set) var demand: DemandEstimate
    /// Requests one instance runs at once.
    public var slotsPerInstance = 1
    /// How many instances of each rung there is room for.
    public var room: InstanceRoom?
    /// The current class's service-time curve, fitted when it was last asked for, and the
    /// invocations the predictor has observed since (`outlook`: a fit per tick per function cost
    /// the simulator 4% of its time; the curve moves little over a few dozen invocations).
    private var fitted: (deviceClass: DeviceClass, curve: PerformancePredictor.Curve?)?
    private var observedSinceFit = 0
    /// Invocations finished since the last evaluation, fed to the policies in time order.
    private var finished: [Invocation] = []
    /// `feedFinished`'s buffer, kept between ticks (no allocation per tick per function).
    private var scratch: [Int64] = []
    /// The last evaluation, and the requests in the pool then (the demand between two is what
    /// finished plus what the pool grew by).
    private var lastEvaluation: (at: ContinuousClock.Instant, inPool: Double)?

    private struct Invocation {
        var arrived: Moment
        var ended: Moment
        var milliseconds: Double
        var serviceMilliseconds: Double?
        var backend: Backend
        var warmAndSuccessful: Bool
        var batch: Int
    }

    /// A controller for a function loaded at `now`: by a deploy, whose proving instance is kept
    /// as if a request had just ended (`loaded`), or by a restart, which starts none until a
    /// request comes (beyond the minimum scale).
    public init(
        autoscaler: AutoscalerSettings, keepAlive: KeepAliveSettings, mode: ModeController,
        hybrid: HybridAutoscalerSettings = HybridAutoscalerSettings(), at now: ContinuousClock.Instant, loaded: Bool = true
    ) {
        // Settings within the bounds the policies' arithmetic is written for (`SettingsBounds`).
        self.autoscaler = Autoscaler(settings: autoscaler.bounded)
        self.keepAlive = KeepAlivePolicy(settings: keepAlive.bounded, loadedAt: loaded ? now : nil)
        self.mode = mode
        self.predictor = PerformancePredictor(priorFraction: mode.model.parallelFraction)
        self.hybrid = HybridAutoscaler(settings: hybrid.bounded)
        self.demand = DemandEstimate(stableWindow: self.autoscaler.settings.stableWindow, panicWindow: self.autoscaler.settings.panicWindow)
    }

    /// One invocation finished: it arrived at `arrived` and took `milliseconds` on `backend`, of
    /// which the function ran `serviceMilliseconds` (the rest queued; nil: unknown);
    /// `warmAndSuccessful` when it is a latency of the rung (not a cold start, not a failure); it
    /// ran in a batch of `batch` requests (the service time is the batch's).
    public mutating func invocationFinished(
        arrived: ContinuousClock.Instant, milliseconds: Double, serviceMilliseconds: Double? = nil, on backend: Backend,
        warmAndSuccessful: Bool, batch: Int = 1
    ) {
        let ms = milliseconds.isFinite ? max(0, min(milliseconds, 1e9)) : 0
        let service = serviceMilliseconds.map { $0.isFinite ? max(0, min($0, ms)) : ms }
        let arrived = Moment(arrived)
        finished.append(Invocation(
            arrived: arrived, ended: arrived.advanced(by: .clamped(milliseconds: ms)), milliseconds: ms, serviceMilliseconds: service,
            backend: backend, warmAndSuccessful: warmAndSuccessful, batch: max(1, batch)))
    }

    /// The actions to take at `now`, given what the runtime observes. On a rung of a share family
    /// (`hybridManaged`) the hybrid autoscaler chooses the instances and the time quota while there
    /// is load (the mode controller still moves the function off the family: to CPU, another SM
    /// share, a whole GPU).
    public mutating func evaluate(at now: ContinuousClock.Instant, observing observation: FunctionObservation) -> [RuntimeAction] {
        let completed = finished.count
        feedFinished()
        if let last = lastEvaluation, now > last.at {
            // Arrivals over the tick: what finished plus what the pool grew by (less what it
            // shrank by: a backlog draining after a cold start is not new demand).
            demand.record(arrivals: Double(completed) + observation.requestsInPool - last.inPool, over: now - last.at, at: now)
        }
        lastEvaluation = (now, observation.requestsInPool)
        autoscaler.record(concurrency: observation.requestsInPool, at: now)
        var scaling = autoscaler.evaluate(current: observation.instances, at: now)
        var actions: [RuntimeAction] = []
        let outlook = self.outlook()
        var rungSwitch = mode.evaluate(at: now, outlook: outlook)
        let current = mode.current
        if hybridManaged {
            if let proposed = rungSwitch, proposed.to.wholeTime == current.wholeTime { rungSwitch = nil }  // the quota is the hybrid's
            let family = mode.rungs.filter { $0.wholeTime == current.wholeTime }
            let decision = hybrid.evaluate(
                at: now, demand: demand.measured ? demand.planned : nil,
                current: ShareConfiguration(instances: max(1, observation.instances), rung: current), quotas: family,
                maxInstances: autoscaler.settings.scaleBounds.upperBound, room: observation.deviceRoom, slots: slotsPerInstance,
                thresholdMs: mode.slo.thresholdMs, predictor: predictor, prices: mode.prices)
            if scaling.desired > 0 {
                scaling.desired = autoscaler.settings.scaleBounds.clamp(max(decision.configuration.instances, 1))
                if scaling.desired != observation.instances {
                    actions.append(.scale(from: observation.instances, to: scaling.desired, reason: decision.reason))
                }
            }
            if rungSwitch == nil, decision.configuration.rung != current {
                let to = decision.configuration.rung
                rungSwitch = RungSwitch(
                    from: current, to: to, direction: to.quotaPercent > current.quotaPercent ? .promote : .demote,
                    measuredMs: nil, predictedMs: predictor.serviceMs(on: to), reason: decision.reason)
            }
        } else {
            // With an outlook the count is the planner's: the fewest instances of this rung whose
            // queueing meets the SLO at the rate coming, plus those a backlog needs (`instances`).
            // The autoscaler's concurrency average counts a queue that waits for a start as load
            // and asks for instances that would be ready only after the first had drained it.
            var reason = scaling.reason
            if scaling.desired > 0, let outlook, rungSwitch == nil, let planned = mode.plan(current, outlook) {
                let wanted = instances(planned: planned, outlook: outlook, observation: observation)
                scaling.desired = autoscaler.settings.scaleBounds.clamp(wanted.count)
                // Worded only when the count changes (a reason per tick per function was 1% of the
                // simulator's time).
                if scaling.desired != observation.instances { reason = wanted.reason() }
            }
            if scaling.desired > 0, scaling.desired != observation.instances {
                actions.append(.scale(from: observation.instances, to: scaling.desired, reason: reason))
            }
            // More instances than the device has room for (a scale-out, or others waiting for
            // room): a smaller SM share fits more.
            if rungSwitch == nil, scaling.desired > 0 {
                rungSwitch = mode.smallerShare(toFit: max(scaling.desired, observation.instances), room: observation.deviceRoom, at: now)
            }
        }
        if scaling.desired == 0 {
            // No load the autoscaler can see: the keep-alive policy decides whether one stays.
            let desired = idleInstances(at: now)
            if desired != observation.instances {
                actions.append(.scale(from: observation.instances, to: desired, reason: idleReason(at: now, instances: observation.instances)))
            }
        }
        if let rungSwitch { actions.append(.switchRung(rungSwitch)) }
        return actions
    }

    /// Instances for `planned` (the configuration the rate coming needs) and the backlog now: the
    /// requests beyond what the instances there (starting ones too) run at once. Those instances
    /// drain it with what they serve beyond the arrivals; more are started only for what they
    /// would leave after a start's time (one started now is ready only then), enough to drain that
    /// within another start's time. While a backlog waits, none is stopped.
    private func instances(
        planned: PlannedConfiguration, outlook: LoadOutlook, observation: FunctionObservation
    ) -> (count: Int, reason: () -> String) {
        let slots = Double(slotsPerInstance)
        let backlog = observation.requestsInPool - Double(observation.instances) * slots
        let mean = planned.meanServiceMs  // as planned: a time quota's stretch included
        guard backlog > 0.5, mean > 0 else {
            return (planned.instances, { "\(planned) is what \(outlook.rateText) needs" })
        }
        let start = outlook.startSeconds(planned.rung.deviceClass)
        let n = Double(observation.instances)
        let spare = max(0, n * slots * 1000 / mean - outlook.rate)  // requests per second beyond the arrivals
        let left = backlog - spare * start
        let extra = left > 0 ? min((left * mean / 1000 / (slots * start)).rounded(.up), Double(AutoscalerSettings.instanceCeiling)).roundedInt : 0
        let instances = observation.instances
        let wanted = max(planned.instances, min(instances, AutoscalerSettings.instanceCeiling) + extra)
        return (
            wanted,
            {
                let waiting = "\(planned) is what \(outlook.rateText) needs; \(backlog.roundedInt) waiting beyond the instances' slots"
                return extra > 0
                    ? "\(waiting), \(left.roundedInt) of them left after a \(start.roundedInt) s start: \(extra) more"
                    : "\(waiting), drained by the \(instances) there within a start"
            }
        )
    }

    /// The load coming and the room, for the mode controller to weigh configurations (nil: no room
    /// known): the arrival rate to plan for (`DemandEstimate.planned`). (A backlog is not planned
    /// for as a rate: one after a cold start drains on its own.)
    private mutating func outlook() -> LoadOutlook? {
        guard let room else { return nil }
        // The service-time curve of the current rung's class (another class's mean comes from the
        // latency model's figure: `ModeController.plan`), refitted after every 32 invocations.
        let here = mode.current.deviceClass
        if fitted?.deviceClass != here || observedSinceFit >= 32 {
            fitted = (here, predictor.curve(here))
            observedSinceFit = 0
        }
        let curve = fitted?.curve
        return LoadOutlook(
            rate: demand.planned, slots: slotsPerInstance, space: room,
            maxInstances: autoscaler.settings.scaleBounds.upperBound,
            cpuCurve: here == .cpu ? curve : nil, gpuCurve: here == .gpu ? curve : nil)
    }

    /// Whether the hybrid autoscaler chooses the instances and the time quota now
    /// (`hybridManages(_:among:)` of the current rung).
    public var hybridManaged: Bool { Self.hybridManages(mode.current, among: mode.rungs) }

    /// Whether the hybrid autoscaler chooses the instances and the time quota of a function on
    /// `rung`: a share of a GPU (an SM share below the whole GPU, at any time quota, or a time
    /// quota below 100%) whose SM share the function's `rungs` offer at other time quotas too (a
    /// share family, HAS-GPU's). Its pool then starts an instance for a queue only from none: the
    /// hybrid adds the others, a higher quota first (`PoolSettings.startsForQueue`). A whole GPU at
    /// full time stays the autoscaler's, as on a machine without MPS, where it is the start rung.
    public static func hybridManages(_ rung: Backend, among rungs: [Backend]) -> Bool {
        rung.deviceClass == .gpu && (rung.isShare || rung.smPercent < 100) && rungs.contains { $0 != rung && $0.wholeTime == rung.wholeTime }
    }

    /// Whether a function's pool on `rung` starts an instance for every request no instance there
    /// can take (a cold start each), up to its max scale, or only from none. Only from none where
    /// the controller counts the instances from the load coming (`plansConfigurations`: a backlog
    /// gets what it needs at the next tick, and no more than can help before the instances there
    /// drain it; a start per queued request once started ten 32 s TinyLlama instances for a queue
    /// that one drained) or the hybrid autoscaler does (a higher quota comes before another
    /// instance).
    public static func poolStartsForQueue(on rung: Backend, among rungs: [Backend], plansConfigurations: Bool) -> Bool {
        !plansConfigurations && !hybridManages(rung, among: rungs)
    }

    /// Traffic has moved to `rungSwitch.to`.
    public mutating func switched(_ rungSwitch: RungSwitch, at now: ContinuousClock.Instant) {
        mode.commit(rungSwitch, at: now)
    }

    /// The switch could not be made: the function stays where it is for a cooldown, and the
    /// target rung is marked failed with `reason`.
    public mutating func switchFailed(_ rungSwitch: RungSwitch, reason: String, at now: ContinuousClock.Instant) {
        mode.abandon(rungSwitch, reason: reason, at: now)
    }

    /// Feeds the invocations finished since the last tick to the policies, by time: arrivals and
    /// ends interleaved as they happened (they were reported in the order they ended).
    private mutating func feedFinished() {
        guard let reference = finished.first?.arrived else { return }
        // Each event as one integer (nanoseconds from the first arrival, doubled, plus 1 for an
        // end), so that arrivals sort before ends at the same instant with a plain integer sort.
        func key(_ at: Moment, arrival: Bool) -> Int64 {
            let (seconds, attoseconds) = (at - reference).components
            let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue &+ attoseconds / 1_000_000_000
            return nanoseconds &* 2 &+ (arrival ? 0 : 1)
        }
        var events: [Int64] = []
        swap(&events, &scratch)  // unique while in use: cleared in place, no copy
        events.removeAll(keepingCapacity: true)
        for invocation in finished {
            events.append(key(invocation.arrived, arrival: true))
            events.append(key(invocation.ended, arrival: false))
            if invocation.warmAndSuccessful {
                // Judged when it ended: a request that queued longer than the window still counts
                // (keyed by its arrival, the slowest requests of an overload would fall outside).
                mode.record(
                    latencyMs: invocation.milliseconds, serviceMs: invocation.serviceMilliseconds, on: invocation.backend, at: invocation.ended)
                predictor.observe(serviceMs: invocation.serviceMilliseconds ?? invocation.milliseconds, on: invocation.backend, batch: invocation.batch)
                observedSinceFit += 1
            }
        }
        finished.removeAll(keepingCapacity: true)
        events.sort()
        for event in events {
            let at = reference.advanced(by: .nanoseconds(event >> 1))
            if event & 1 == 0 { keepAlive.arrival(at: at) } else { keepAlive.completion(at: at) }
        }
        scratch = events
    }

    /// Instances for an idle function: one while the keep-alive policy wants it, else the floor.
    private func idleInstances(at now: ContinuousClock.Instant) -> Int {
        let bounds = autoscaler.settings.scaleBounds
        return keepAlive.wantsInstance(at: now) ? bounds.clamp(1) : bounds.lowerBound
    }

    /// Why, in the keep-alive policy's own terms (worded only when the count changes).
    private func idleReason(at now: ContinuousClock.Instant, instances: Int) -> String {
        let floor = autoscaler.settings.scaleBounds.lowerBound
        let w = keepAlive.windows
        let idle = keepAlive.idle(at: now) ?? .zero
        let end = w.prewarm + w.keepAlive
        if keepAlive.wantsInstance(at: now) {
            return instances == 0
                ? "pre-warm: idle for \(idle.short), past the pre-warm point \(w.prewarm.short); the next request is expected (\(w.reason))"
                : "idle for \(idle.short), within the keep-alive of \(end.short) (\(w.reason)): keep 1 instance"
        }
        if idle < w.prewarm {
            return "idle for \(idle.short), before the pre-warm point \(w.prewarm.short) (\(w.reason)): unload until then"
        }
        return "idle for \(idle.short), past the keep-alive of \(end.short) (\(w.reason)): scale to \(floor == 0 ? "zero" : String(floor))"
    }
}
