import Testing

@testable import GaiaCore

/// The pool's decisions without Python or processes: a table of transitions, and a seeded
/// randomized checker that runs random event sequences and asserts the invariants after each step.
struct InstancePoolStateMachineTests {
    typealias Machine = PoolStateMachine

    func machine(maxScale: Int = 2, queueLimit: Int = 2, slots: Int = 1) -> Machine {
        Machine(limits: .init(maxScale: maxScale, queueLimit: queueLimit, slotsPerInstance: slots))
    }

    @Test func aRequestOnAnEmptyPoolStartsAnInstanceAndIsDispatchedColdWhenItIsReady() {
        var m = machine()
        #expect(m.requestArrived(1) == [.startInstance(1)])
        #expect(m.requestCount == 1 && m.instanceCount == 1)
        #expect(m.instanceStarted(1) == [.dispatch(1, to: 1, cold: true)])
        #expect(m.requestFinished(1, instanceHealthy: true) == [])
        #expect(m.requestArrived(2) == [.dispatch(2, to: 1, cold: false)], "the idle instance serves warm")
    }

    @Test func requestsBeyondMaxScaleQueueUpToTheLimitThenAreRefused() {
        var m = machine(maxScale: 1, queueLimit: 1)
        #expect(m.requestArrived(1) == [.startInstance(1)])
        #expect(m.requestArrived(2) == [], "waits: the starting instance will take one, the queue one more")
        #expect(m.requestArrived(3) == [.fail(3, .queueFull)])
        #expect(m.instanceStarted(1) == [.dispatch(1, to: 1, cold: true)])
        #expect(m.requestFinished(1, instanceHealthy: true) == [.dispatch(2, to: 1, cold: false)])
    }

    @Test func aFailedStartFailsTheRequestsNoOtherInstanceCanServe() {
        var m = machine(maxScale: 1, queueLimit: 5)
        _ = m.requestArrived(1)
        _ = m.requestArrived(2)
        #expect(m.instanceStartFailed(1) == [.fail(1, .startFailed(1)), .fail(2, .startFailed(1))])
        #expect(m.instanceCount == 0 && m.requestCount == 0)
    }

    @Test func aBrokenInstanceIsStoppedAndReplacedWhenRequestsWait() {
        var m = machine(maxScale: 1, queueLimit: 5)
        _ = m.requestArrived(1)
        _ = m.instanceStarted(1)
        #expect(m.requestArrived(2) == [])
        #expect(m.requestFinished(1, instanceHealthy: false) == [.stopInstance(1), .startInstance(2)])
        #expect(m.instanceStarted(2) == [.dispatch(2, to: 2, cold: true)])
    }

    /// On a share family the hybrid autoscaler owns the instance count: a queue starts the first
    /// instance only, and a broken one is replaced only when it was the last; `scale(to:)` adds.
    @Test func whereTheHybridOwnsTheCountAQueueStartsOnlyTheFirstInstance() {
        var m = Machine(limits: .init(maxScale: 4, queueLimit: 5, slotsPerInstance: 1, startsForQueue: false))
        #expect(m.requestArrived(1) == [.startInstance(1)], "from none: one starts")
        #expect(m.requestArrived(2) == [], "it waits for the hybrid, which owns the count")
        #expect(m.instanceStarted(1) == [.dispatch(1, to: 1, cold: true)])
        #expect(m.requestArrived(3) == [])
        #expect(m.scale(to: 2) == [.startInstance(2)], "the hybrid adds one")
        #expect(m.instanceStarted(2) == [.dispatch(2, to: 2, cold: true)])
        #expect(m.requestFinished(1, instanceHealthy: false) == [.stopInstance(1)], "another still runs: not replaced")
        #expect(m.requestFinished(2, instanceHealthy: false) == [.stopInstance(2), .startInstance(3)], "the last one: replaced")
        var kpa = machine(maxScale: 4, queueLimit: 5)
        _ = kpa.requestArrived(1)
        #expect(kpa.requestArrived(2) == [.startInstance(2)], "elsewhere a queue starts one per waiting request")
    }

    /// Where a queue does not start instances (the controller counts them at its tick), a burst is
    /// admitted as where each waiting request starts one: what the instances still to be started
    /// would take, plus the queue limit.
    @Test func whereTheControllerCountsABurstIsAdmittedAsIfEachWaitingRequestStartedOne() {
        var m = Machine(limits: .init(maxScale: 4, queueLimit: 2, slotsPerInstance: 1, startsForQueue: false))
        #expect(m.requestArrived(1) == [.startInstance(1)])
        // Waiting: 1 for the starting instance, 3 for those the controller may start, 2 more.
        for r in 2...6 { #expect(m.requestArrived(r) == [], "\(r)") }
        #expect(m.requestArrived(7) == [.fail(7, .queueFull)])
        var kpa = machine(maxScale: 4, queueLimit: 2)
        for r in 1...4 { #expect(kpa.requestArrived(r) == [.startInstance(r)]) }
        for r in 5...6 { #expect(kpa.requestArrived(r) == []) }
        #expect(kpa.requestArrived(7) == [.fail(7, .queueFull)], "the same bound where each starts one")
    }

    @Test func closingWhileAStartIsInFlightStopsThatInstanceAtOnce() {
        var m = machine()
        _ = m.requestArrived(1)
        #expect(m.close() == [.fail(1, .shuttingDown), .cancelStart(1), .drained])
        #expect(m.instanceStarted(1) == [], "a start that still succeeds was already stopped by the cancel")
        #expect(m.requestArrived(2) == [.fail(2, .shuttingDown)])
        #expect(m.scale(to: 3) == [], "a closed pool starts nothing")
        #expect(m.instanceCount == 0)
    }

    /// A scale-down stops idle instances first (the oldest first), then retires busy ones (the
    /// newest first): a retired instance takes no more requests and stops when its last ends.
    @Test func scalingDownStopsIdleInstancesThenRetiresBusyOnes() {
        var m = machine(maxScale: 3, slots: 2)
        #expect(m.scale(to: 3) == [.startInstance(1), .startInstance(2), .startInstance(3)])
        for i in 1...3 { _ = m.instanceStarted(i) }
        #expect(m.requestArrived(10) == [.dispatch(10, to: 1, cold: false)])
        #expect(m.requestArrived(11) == [.dispatch(11, to: 2, cold: false)], "the most free slots")
        #expect(m.scale(to: 1) == [.stopInstance(3)], "the idle one stops; instance 2, busy, is retired")
        #expect(m.instanceCount == 1 && m.retiring == [2: 1])
        #expect(m.requestArrived(12) == [.dispatch(12, to: 1, cold: false)], "a retired instance takes no more")
        #expect(m.requestFinished(11, instanceHealthy: true) == [.stopInstance(2)], "its last request ended: stopped")
        #expect(m.scale(to: 0) == [], "instance 1 is retired with two requests left")
        #expect(m.requestFinished(10, instanceHealthy: true) == [])
        #expect(m.requestFinished(12, instanceHealthy: true) == [.stopInstance(1)])
        #expect(m.instanceCount == 0 && m.requestCount == 0)
    }

    /// A start the load no longer needs is cancelled (after the idle instances, before busy ones),
    /// the oldest first, but one instance stays while requests wait; the simulator applies the same
    /// rule (`toStop`).
    @Test func scalingDownCancelsStartsNoLongerNeededButKeepsOneForTheQueue() {
        var m = machine(maxScale: 4, queueLimit: 4)
        #expect(m.scale(to: 1) == [.startInstance(1)])
        _ = m.instanceStarted(1)
        #expect(m.scale(to: 4) == [.startInstance(2), .startInstance(3), .startInstance(4)])
        #expect(m.scale(to: 1) == [.stopInstance(1), .cancelStart(2), .cancelStart(3)], "idle first, then starts")
        #expect(m.instanceCount == 1 && m.cancelled == [2, 3])
        #expect(m.instanceStarted(2) == [] && m.instanceStartFailed(3) == [], "a cancelled start's report is dropped")
        _ = m.requestArrived(10)  // waits for instance 4
        #expect(m.scale(to: 0) == [], "instance 4's start is what request 10 waits for: one is kept")
        #expect(m.instanceStarted(4) == [.dispatch(10, to: 4, cold: true)])
        let states: [PoolStateMachine.Occupancy] = [.busy, .starting, .idle, .starting, .busy]
        #expect(PoolStateMachine.toStop(count: 5, target: 0, waitedFor: 0, state: { states[$0] }) == [2, 1, 3, 4, 0])
        #expect(PoolStateMachine.toStop(count: 5, target: 0, waitedFor: 1, state: { states[$0] }) == [2, 1, 3, 4], "requests wait: one is kept")
        #expect(PoolStateMachine.toStop(count: 2, target: 0, waitedFor: 3, state: { _ in .busy }) == [1], "one kept for the queue")
    }

    @Test func drainingServesWhatIsInThePoolThenCloses() {
        var m = machine()
        _ = m.requestArrived(1)
        _ = m.instanceStarted(1)
        #expect(m.drain() == [])
        #expect(m.requestArrived(2) == [], "a request that still arrives is served")
        #expect(m.requestFinished(1, instanceHealthy: true) == [.dispatch(2, to: 1, cold: false)])
        #expect(m.requestFinished(2, instanceHealthy: true) == [.stopInstance(1), .drained])
        #expect(m.phase == .closed)
    }

    @Test func anInstanceWithSeveralSlotsTakesThatManyRequests() {
        var m = machine(maxScale: 1, queueLimit: 0, slots: 3)
        #expect(m.requestArrived(1) == [.startInstance(1)])
        #expect(m.requestArrived(2) == [] && m.requestArrived(3) == [])
        #expect(m.requestArrived(4) == [.fail(4, .queueFull)])
        #expect(m.instanceStarted(1) == [.dispatch(1, to: 1, cold: true), .dispatch(2, to: 1, cold: true), .dispatch(3, to: 1, cold: true)])
    }

    /// Random sequences of every event, with the actor's side modelled: processes started, requests
    /// answered. Invariants after each step; at the end, after a close and every start resolved,
    /// nothing is left running and every request was answered exactly once.
    @Test func randomEventSequencesKeepTheInvariants() {
        var random = SplitMix64(seed: 0x6A1A)
        var steps = 0
        for sequence in 0..<10_000 {
            var world = World(machine: machine(
                maxScale: 1 + Int(random.next() % 4), queueLimit: Int(random.next() % 4), slots: 1 + Int(random.next() % 3)))
            for _ in 0..<(5 + Int(random.next() % 40)) {
                world.step(&random)
                steps += 1
                if let violation = world.violation { Issue.record("sequence \(sequence): \(violation)"); return }
            }
            world.finish(&random)
            if let violation = world.violation { Issue.record("sequence \(sequence) at the end: \(violation)"); return }
        }
        #expect(steps > 200_000)
    }
}

/// The actor's side of the pool, modelled: which processes exist and which requests were answered.
private struct World {
    typealias Machine = PoolStateMachine
    var machine: Machine
    var nextRequest = 0
    /// Instances whose process exists (started or starting, not yet stopped or failed).
    var processes: Set<Int> = []
    /// Starts in flight (cancelled ones included): each resolves to started or failed.
    var startsInFlight: Set<Int> = []
    var stopped: Set<Int> = []
    var dispatched: [Int: Int] = [:]
    var answered: Set<Int> = []
    var arrived: Set<Int> = []
    var closed = false
    var violation: String?

    mutating func step(_ random: inout SplitMix64) {
        switch random.next() % 10 {
        case 0, 1, 2:
            nextRequest += 1
            arrived.insert(nextRequest)
            let actions = machine.requestArrived(nextRequest)
            apply(actions)
            // Left to wait, with no start of its own, only within the bound (a scale-down that
            // cancels starts may leave more waiting than would now be admitted: arrivals are
            // refused until it shrinks).
            let bound = machine.starting.count * machine.limits.slotsPerInstance + machine.limits.queueLimit
            let (request, waits) = (nextRequest, machine.waiting.last == nextRequest && !actions.contains { if case .startInstance = $0 { true } else { false } })
            check(!waits || machine.waiting.count <= bound, "request \(request) was admitted beyond the queue's bound")
        case 3, 4:
            resolveStart(&random)
        case 5, 6:
            guard let request = dispatched.keys.randomElement(using: &random) else { return }
            dispatched.removeValue(forKey: request)
            apply(machine.requestFinished(request, instanceHealthy: random.next() % 5 != 0))
        case 7:
            guard let instance = machine.freeSlots.keys.randomElement(using: &random) else { return }
            apply(machine.instanceCrashed(instance))
        case 8:
            apply(machine.scale(to: Int(random.next() % 5)))
        default:
            if random.next() % 4 == 0 { apply(random.next() % 2 == 0 ? machine.close() : machine.drain()) }
        }
    }

    mutating func resolveStart(_ random: inout SplitMix64) {
        guard let instance = startsInFlight.randomElement(using: &random) else { return }
        startsInFlight.remove(instance)
        if random.next() % 4 == 0 {
            processes.remove(instance)
            apply(machine.instanceStartFailed(instance))
        } else {
            apply(machine.instanceStarted(instance))
        }
    }

    /// Closes the pool, resolves every start and finishes every request.
    mutating func finish(_ random: inout SplitMix64) {
        apply(machine.close())
        while !startsInFlight.isEmpty { resolveStart(&random) }
        for request in dispatched.keys.sorted() {
            dispatched.removeValue(forKey: request)
            apply(machine.requestFinished(request, instanceHealthy: true))
        }
        let running = processes.subtracting(stopped)
        check(running.isEmpty, "instances left running: \(running.sorted())")
        let unanswered = arrived.subtracting(answered)
        check(unanswered.isEmpty, "requests never answered: \(unanswered.sorted())")
        check(machine.instanceCount == 0 && machine.requestCount == 0, "a closed, finished pool still counts instances or requests")
    }

    mutating func apply(_ actions: [Machine.Action]) {
        for action in actions {
            switch action {
            case .startInstance(let id):
                check(!closed && machine.phase != .closed, "a closed pool started instance \(id)")
                check(!processes.contains(id) && !stopped.contains(id), "instance \(id) started twice")
                processes.insert(id)
                startsInFlight.insert(id)
            case .cancelStart(let id), .stopInstance(let id):
                check(processes.contains(id), "stopped instance \(id), which has no process")
                check(!stopped.contains(id), "instance \(id) stopped twice")
                stopped.insert(id)
            case .dispatch(let request, let instance, _):
                check(answered.insert(request).inserted, "request \(request) answered twice")
                check(processes.contains(instance) && !stopped.contains(instance), "request \(request) sent to dead instance \(instance)")
                dispatched[request] = instance
            case .fail(let request, _):
                check(answered.insert(request).inserted, "request \(request) answered twice")
            case .drained:
                closed = true
            }
        }
        let s = machine.limits.slotsPerInstance
        let (count, maxScale) = (machine.instanceCount, machine.limits.maxScale)
        check(count <= maxScale, "\(count) instances over max scale \(maxScale)")
        check(machine.freeSlots.values.allSatisfy { (0...s).contains($0) }, "free slots out of range")
        check(Set(machine.inFlight.keys) == Set(dispatched.keys), "the machine and the actor disagree on requests in flight")
        let unanswered = arrived.subtracting(answered)
        check(unanswered == Set(machine.waiting), "a request is lost: neither answered nor waiting")
        check(machine.waiting.isEmpty || machine.instanceCount > 0, "requests wait with no instance running or starting to serve them")
    }

    mutating func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition && violation == nil { violation = message() }
    }
}
