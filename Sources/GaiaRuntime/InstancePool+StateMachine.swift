public import DequeModule

extension InstancePool {
    /// The pool's decisions as a pure value: instances (starting, running with free slots), the
    /// queue of waiting requests, and the draining and closed states. Every event returns the
    /// actions to carry out; `InstancePool` (the actor) only executes them and feeds the results
    /// back as events. No I/O, no clock, no processes: tested exhaustively without Python.
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
    /// - `scale(to:)` starts instances or stops idle ones (never busy ones).
    /// - `drain` lets the requests in the pool finish (one arriving meanwhile waits for a running
    ///   instance; none is started for it), then closes; `close` refuses new work, fails
    ///   the queue and stops every instance. An instance whose start is in flight when the pool
    ///   closes is stopped at once (`cancelStart`), whether its start then reports success or
    ///   failure: a closed pool starts nothing and leaves nothing running.
    public struct StateMachine: Sendable {
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
            let idle = freeSlots.filter { $0.value == limits.slotsPerInstance }.keys.sorted(by: >)
            for instance in idle where instanceCount > target {
                freeSlots.removeValue(forKey: instance)
                actions.append(.stopInstance(instance))
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
            for instance in freeSlots.keys.sorted() { actions.append(.stopInstance(instance)) }
            freeSlots = [:]
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
            freeSlots.filter { $0.value > 0 }.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key
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
}
