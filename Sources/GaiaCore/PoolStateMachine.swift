public import DequeModule

/// The pool's decisions as a pure value: instances (starting, running with free slots), the
/// queue of waiting requests, and the draining and closed states. Every event returns the
/// actions to carry out; `GaiaRuntime.InstancePool` (the actor) only executes them and feeds
/// the results back as events, and the simulator follows the same rules of dispatch and of
/// scale-down (`bestFree`, `toStop`). No I/O, no clock, no processes: tested exhaustively
/// without Python.
///
/// Rules:
/// - A request takes a free slot on a running instance (the one with the most free slots, then
///   the oldest); else, if the instances starting cannot take it and the pool is under
///   `maxScale`, it starts one (a cold start; only when none runs or starts where the hybrid
///   autoscaler owns the count, `startsForQueue`) and waits; else it waits in the queue, which holds
///   `queueLimit` requests beyond what starting instances will take; past that it is refused.
/// - A started instance takes waiting requests (cold: they waited for a start). A failed start
///   fails the waiting requests admitted for it that no other instance can take.
/// - A finished request frees its slot for the next waiting one; a request whose instance broke
///   (crash, timeout, protocol error) stops that instance and, if requests wait, starts another.
/// - `scale(to:)` starts instances, or stops idle ones, then cancels starts no longer needed (not
///   those waiting requests need), then retires busy ones (they finish their requests, take no
///   more, and stop): `toStop`, the rule the simulator follows too.
/// - `drain` lets the requests in the pool finish (one arriving meanwhile waits for a running
///   instance; none is started for it), then closes; `close` refuses new work, fails
///   the queue and stops every instance. An instance whose start is in flight when the pool
///   closes is stopped at once (`cancelStart`), whether its start then reports success or
///   failure: a closed pool starts nothing and leaves nothing running.
public struct PoolStateMachine: Sendable {
    /// An instance's number within its pool.
    public typealias InstanceID = Int
    /// A request's number within its pool.
    public typealias RequestID = Int

    /// What the actor must do.
    public enum Action: Sendable, Hashable {
        /// Start a worker process for this instance and report `started` or `startFailed`.
        case startInstance(InstanceID)
        /// Stop a worker whose start is in flight: kill it now, whether its start still reports
        /// success or failure (either report is then dropped).
        case cancelStart(InstanceID)
        /// Hand a request to an instance; `cold` when it waited for that instance to start.
        case dispatch(RequestID, to: InstanceID, cold: Bool)
        /// Answer a request with an error.
        case fail(RequestID, Failure)
        /// Stop (kill and reap) a running instance.
        case stopInstance(InstanceID)
        /// The pool drained: wake whoever waits for it.
        case drained
    }

    /// Why a request is answered with an error.
    public enum Failure: Sendable, Hashable {
        /// Every instance is busy, no more may start, and the queue is full.
        case queueFull
        /// The pool is closing or closed.
        case shuttingDown
        /// The instance started for it (or every instance that could serve it) failed to start.
        case startFailed(InstanceID)
    }

    /// Limits of the pool.
    public struct Limits: Sendable, Hashable {
        /// Most instances, starting ones included.
        public var maxScale: Int
        /// Most requests waiting beyond what starting instances will take.
        public var queueLimit: Int
        /// Requests one instance runs at once.
        public var slotsPerInstance: Int
        /// Whether waiting requests start instances beyond the first (false where the hybrid
        /// autoscaler owns the count: then only `scale(to:)` adds them).
        public var startsForQueue: Bool

        /// Limits, with each at least its smallest sensible value.
        public init(maxScale: Int, queueLimit: Int, slotsPerInstance: Int, startsForQueue: Bool = true) {
            self.maxScale = max(1, maxScale)
            self.queueLimit = max(0, queueLimit)
            self.slotsPerInstance = max(1, slotsPerInstance)
            self.startsForQueue = startsForQueue
        }
    }

    /// Open, draining (finish what is in the pool, then close) or closed.
    public enum Phase: Sendable, Hashable {
        case open, draining, closed
    }

    /// The limits.
    public let limits: Limits
    /// Open, draining or closed.
    public private(set) var phase: Phase = .open
    /// Instances whose start is in flight.
    public private(set) var starting: Set<InstanceID> = []
    /// Starting instances cancelled by `close` (their start result is awaited, then dropped).
    public private(set) var cancelled: Set<InstanceID> = []
    /// Running instances and their free slots.
    public private(set) var freeSlots: [InstanceID: Int] = [:]
    /// Requests waiting for a slot, first come first served.
    public private(set) var waiting: Deque<RequestID> = []
    /// Requests dispatched and not finished, with their instance.
    public private(set) var inFlight: [RequestID: InstanceID] = [:]
    /// Instances a scale-down retired while busy, with their requests left: they take no more and
    /// are stopped when the last ends (no longer counted as instances).
    public private(set) var retiring: [InstanceID: Int] = [:]
    private var nextInstance: InstanceID = 0

    /// An open, empty pool.
    public init(limits: Limits) {
        self.limits = limits
    }

    /// Instances running or starting (cancelled ones no longer count).
    public var instanceCount: Int { freeSlots.count + starting.count }

    /// Requests in the pool, waiting or running: what the autoscaler observes.
    public var requestCount: Int { waiting.count + inFlight.count }

    /// Whether waiting requests may start another instance: under `maxScale`, and the first
    /// one or `startsForQueue`.
    private var mayStartForQueue: Bool {
        instanceCount < limits.maxScale && (limits.startsForQueue || instanceCount == 0)
    }

    /// Requests the instances now starting will take.
    private var startingCapacity: Int { starting.count * limits.slotsPerInstance }

    // MARK: Events

    /// A request arrived.
    public mutating func requestArrived(_ request: RequestID) -> [Action] {
        guard phase != .closed else { return [.fail(request, .shuttingDown)] }
        if let instance = bestFreeInstance() {
            freeSlots[instance]! -= 1
            inFlight[request] = instance
            return [.dispatch(request, to: instance, cold: false)]
        }
        if phase == .draining && instanceCount == 0 { return [.fail(request, .shuttingDown)] }
        if phase == .open && waiting.count >= startingCapacity && mayStartForQueue {
            waiting.append(request)
            return [startInstance()]
        }
        guard waiting.count < admissible else { return [.fail(request, .queueFull)] }
        waiting.append(request)
        return []
    }

    /// Requests that may wait: what the instances starting will take, and `queueLimit` more.
    /// Where a queue does not start instances (`startsForQueue` false: the controller adds them
    /// at its next tick), also what the instances it may still start will take, so that a burst
    /// is admitted as where each waiting request starts one.
    private var admissible: Int {
        let later = limits.startsForQueue ? 0 : max(0, limits.maxScale - instanceCount) * limits.slotsPerInstance
        return startingCapacity + later + limits.queueLimit
    }

    /// An instance's start succeeded.
    public mutating func instanceStarted(_ instance: InstanceID) -> [Action] {
        if cancelled.remove(instance) != nil { return [] }  // its cancelStart stopped it
        guard starting.remove(instance) != nil else { return [] }
        guard phase != .closed else { return [.stopInstance(instance)] }
        freeSlots[instance] = limits.slotsPerInstance
        return serveWaiting(on: instance, cold: true)
    }

    /// An instance's start failed (its process is gone).
    public mutating func instanceStartFailed(_ instance: InstanceID) -> [Action] {
        if cancelled.remove(instance) != nil { return [] }
        guard starting.remove(instance) != nil else { return [] }
        // Requests admitted for this instance that the others cannot take would wait for an
        // instance that may never come: they fail now with this start's error. With no running
        // instance, only what the other starting instances will take may wait.
        let keep = freeSlots.isEmpty ? startingCapacity : startingCapacity + limits.queueLimit
        var actions: [Action] = []
        while waiting.count > keep, let request = waiting.popLast() {
            actions.append(.fail(request, .startFailed(instance)))
        }
        return actions.reversed() + drainedIfDone()
    }

    /// A request finished; `instanceHealthy` is false when its instance broke (crashed, timed
    /// out, broke the protocol) and must be replaced.
    public mutating func requestFinished(_ request: RequestID, instanceHealthy: Bool) -> [Action] {
        guard let instance = inFlight.removeValue(forKey: request) else { return [] }
        if let left = retiring[instance] {
            guard left <= 1 || !instanceHealthy else {
                retiring[instance] = left - 1
                return drainedIfDone()
            }
            retiring.removeValue(forKey: instance)
            return [.stopInstance(instance)] + drainedIfDone()
        }
        guard freeSlots[instance] != nil else { return drainedIfDone() }  // already stopped
        guard instanceHealthy else { return instanceLost(instance) }
        freeSlots[instance]! += 1
        return serveWaiting(on: instance, cold: false) + drainedIfDone()
    }

    /// A running instance died outside a request (or was found dead): forget and reap it, and
    /// replace it if requests wait.
    public mutating func instanceCrashed(_ instance: InstanceID) -> [Action] {
        guard freeSlots[instance] != nil else { return [] }
        return instanceLost(instance)
    }

    /// Starts instances up to `desired` or stops idle ones above it (never busy ones); returns
    /// the instances started, whose starts the caller may wait for.
    public mutating func scale(to desired: Int) -> [Action] {
        guard phase == .open else { return [] }
        let target = min(max(desired, 0), limits.maxScale)
        var actions: [Action] = []
        while instanceCount < target { actions.append(startInstance()) }
        // Running instances (oldest first), then those starting.
        let running = freeSlots.keys.sorted()
        let starts = starting.sorted()
        let stopped = Self.toStop(
            count: instanceCount, target: target,
            waitedFor: (waiting.count + limits.slotsPerInstance - 1) / limits.slotsPerInstance,
            state: { $0 >= running.count ? .starting : freeSlots[running[$0]]! == limits.slotsPerInstance ? .idle : .busy })
        for position in stopped {
            if position >= running.count {
                let instance = starts[position - running.count]
                starting.remove(instance)
                cancelled.insert(instance)
                actions.append(.cancelStart(instance))
            } else if let free = freeSlots.removeValue(forKey: running[position]), free < limits.slotsPerInstance {
                retiring[running[position]] = limits.slotsPerInstance - free  // busy: stopped once its requests end
            } else {
                actions.append(.stopInstance(running[position]))
            }
        }
        return actions
    }

    /// Finish the requests in the pool (and any that still arrive), then close.
    public mutating func drain() -> [Action] {
        guard phase == .open else { return phase == .closed ? [.drained] : [] }
        phase = .draining
        return drainedIfDone()
    }

    /// Refuse new work, fail the queue, stop every instance and cancel starts in flight.
    public mutating func close() -> [Action] {
        guard phase != .closed else { return [] }
        phase = .closed
        var actions: [Action] = waiting.map { .fail($0, .shuttingDown) }
        waiting = []
        for instance in freeSlots.keys.sorted() + retiring.keys.sorted() { actions.append(.stopInstance(instance)) }
        freeSlots = [:]
        retiring = [:]
        for instance in starting.sorted() { actions.append(.cancelStart(instance)) }
        cancelled.formUnion(starting)
        starting = []
        actions.append(.drained)
        return actions
    }

    // MARK: Helpers

    private mutating func startInstance() -> Action {
        nextInstance += 1
        starting.insert(nextInstance)
        return .startInstance(nextInstance)
    }

    /// The running instance with the most free slots (the oldest on a tie).
    private func bestFreeInstance() -> InstanceID? {
        let running = freeSlots.keys.sorted()
        return Self.bestFree(count: running.count, slots: limits.slotsPerInstance) { freeSlots[running[$0]]! }.map { running[$0] }
    }

    // MARK: Rules the simulator follows too

    /// Which instance takes a request: of `count` instances in the order they started (oldest
    /// first), each with `free(position)` free slots (none, or negative, for one starting), the one
    /// with the most, the oldest on a tie; nil when none has one. The first with all its `slots`
    /// free ends the search (none can have more).
    @inlinable
    public static func bestFree(count: Int, slots: Int, free: (Int) -> Int) -> Int? {
        var best: Int?
        var most = 0
        for position in 0..<count {
            let available = free(position)
            if available > most {
                (best, most) = (position, available)
                if available >= slots { break }
            }
        }
        return best
    }

    /// What an instance is doing, for `toStop`.
    public enum Occupancy: Sendable {
        case idle, starting, busy
    }

    /// Which instances a scale-down from `count` instances (starting ones included) to `target`
    /// stops, of those in the order they started (`state(position)`): idle ones first, the oldest
    /// first; then starts no longer needed (cancelled rather than left to hold cores or a GPU), the
    /// oldest first; then busy ones, the newest first, which are retired: they finish their
    /// requests, take no more, and stop (as Knative drains a pod). While requests wait in the
    /// queue (`waitedFor`: the instances they need) one instance at least is kept for them, running
    /// or starting (fewer instances, or each at a higher time quota, is the controller's decision
    /// under load: a start it no longer wants serves nobody for a start's time, so it goes before
    /// a busy instance). Positions, in the order to stop them.
    @inlinable
    public static func toStop(count: Int, target: Int, waitedFor: Int, state: (Int) -> Occupancy) -> [Int] {
        var stop: [Int] = []
        var excess = count - max(0, target)
        guard excess > 0 else { return stop }
        for position in 0..<count where excess > 0 && state(position) == .idle {
            stop.append(position)
            excess -= 1
        }
        excess = min(excess, count - stop.count - min(1, max(0, waitedFor)))
        for position in 0..<count where excess > 0 && state(position) == .starting {
            stop.append(position)
            excess -= 1
        }
        for position in (0..<count).reversed() where excess > 0 && state(position) == .busy {
            stop.append(position)
            excess -= 1
        }
        return stop
    }

    private mutating func serveWaiting(on instance: InstanceID, cold: Bool) -> [Action] {
        var actions: [Action] = []
        while let free = freeSlots[instance], free > 0, let request = waiting.popFirst() {
            freeSlots[instance] = free - 1
            inFlight[request] = instance
            actions.append(.dispatch(request, to: instance, cold: cold))
        }
        return actions
    }

    private mutating func instanceLost(_ instance: InstanceID) -> [Action] {
        freeSlots.removeValue(forKey: instance)
        var actions: [Action] = [.stopInstance(instance)]
        if phase != .closed, waiting.count > startingCapacity, mayStartForQueue {
            actions.append(startInstance())
        }
        return actions + drainedIfDone()
    }

    /// While draining, once no request is left: close.
    private mutating func drainedIfDone() -> [Action] {
        guard phase == .draining, requestCount == 0 else { return [] }
        return close()
    }
}
