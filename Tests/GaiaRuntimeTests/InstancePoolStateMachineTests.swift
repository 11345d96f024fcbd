import GaiaCore
import Testing

@testable import GaiaRuntime

/// The pool's decisions without Python or processes: a table of transitions, and a seeded
/// randomized checker that runs random event sequences and asserts the invariants after each step.
struct InstancePoolStateMachineTests {
    typealias Machine = InstancePool.StateMachine

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

    @Test func scalingDownStopsOnlyIdleInstancesNewestFirst() {
        var m = machine(maxScale: 3)
        #expect(m.scale(to: 3) == [.startInstance(1), .startInstance(2), .startInstance(3)])
        for i in 1...3 { _ = m.instanceStarted(i) }
        _ = m.requestArrived(10)  // takes instance 1
        #expect(m.scale(to: 0) == [.stopInstance(3), .stopInstance(2)], "the busy instance stays")
        #expect(m.requestFinished(10, instanceHealthy: true) == [])
        #expect(m.scale(to: 0) == [.stopInstance(1)])
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
    typealias Machine = InstancePool.StateMachine
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
            apply(machine.requestArrived(nextRequest))
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
        check(machine.waiting.count <= machine.starting.count * s + machine.limits.queueLimit, "the queue outgrew its bound")
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
