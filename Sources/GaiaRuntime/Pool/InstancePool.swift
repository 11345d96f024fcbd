public import GaiaCore
import DequeModule

/// Limits of one pool.
public struct PoolSettings: Sendable {
    /// Most instances, starting ones included.
    public var maxScale: Int = 10
    /// Most requests waiting for an instance; past it callers get `PoolError.queueFull`.
    public var queueLimit: Int = 100
    /// Longest one invocation may run before its instance is killed.
    public var invocationTimeout: Duration = .seconds(60)
    /// Longest an instance may take to import the function and run `init`.
    public var startTimeout: Duration = .seconds(120)
    /// Requests one instance runs at once (its worker's `concurrency`).
    public var instanceConcurrency: Int = 1
    /// How requests are grouped for `handle_batch` (nil: one by one).
    public var batching: BatchPolicy?
    /// Whether waiting requests start instances beyond the first (false on a share family, whose
    /// instance count the hybrid autoscaler owns).
    public var startsForQueue = true

    /// The defaults.
    public init() {}
}

/// Why a pool refused a request.
public enum PoolError: Error, CustomStringConvertible, Equatable {
    /// Every instance is busy, no more may start, and the queue is full.
    case queueFull(limit: Int)
    /// The pool is shutting down.
    case shuttingDown
    /// The machine runs as many instances as it can hold (`InstanceSlots`), of all functions.
    case machineFull(InstanceCapacity)

    /// A message for a person.
    public var description: String {
        switch self {
        case .queueFull(let limit): "all instances are busy and \(limit) requests are already waiting; retry shortly"
        case .shuttingDown: "the function is shutting down"
        case .machineFull(let capacity):
            "the machine runs the most instances it holds, \(capacity), and none of this function's is free; retry shortly (the control loop shares them out every second)"
        }
    }
}

/// What one invocation through the pool came to.
public struct InvocationOutcome: Sendable {
    /// The worker's answer.
    public var response: WorkerResponse
    /// The instance that served it.
    public var instance: Int
    /// Whether the request waited for its instance to start.
    public var coldStart: Bool
    /// Time from arrival until an instance was handed over (cold start included).
    public var queueMilliseconds: Double
    /// Time from arrival until the answer.
    public var totalMilliseconds: Double

    /// An outcome.
    public init(response: WorkerResponse, instance: Int, coldStart: Bool, queueMilliseconds: Double, totalMilliseconds: Double) {
        self.response = response
        self.instance = instance
        self.coldStart = coldStart
        self.queueMilliseconds = queueMilliseconds
        self.totalMilliseconds = totalMilliseconds
    }
}

/// The instances of one function on one rung, and the requests waiting for them.
///
/// The decisions (which instance serves a request, when to start or stop one, what a full queue or
/// a failed start does to waiting requests) are `InstancePool.StateMachine`'s; this actor carries
/// out its actions (starting and stopping worker processes, handing requests over, failing them)
/// and feeds results back as events. An instance whose worker crashes, times out or breaks the
/// protocol is stopped and, if requests are waiting, replaced.
public actor InstancePool {
    /// The rung the instances run on (it changes with `resize`).
    public private(set) var backend: Backend
    private let settings: PoolSettings
    private let makeConfiguration: @Sendable (Int, Backend) -> WorkerConfiguration
    private var machine: StateMachine
    /// Workers of starting and running instances.
    private var workers: [StateMachine.InstanceID: WorkerProcess] = [:]
    /// Callers waiting for their request to be dispatched (or failed).
    private var requests: [StateMachine.RequestID: CheckedContinuation<(StateMachine.InstanceID, Bool), any Error>] = [:]
    private var nextRequest = 0
    /// Why a start failed, while its failure is being applied.
    private var startErrors: [StateMachine.InstanceID: any Error] = [:]
    /// Starts a `scale(to:)` caller will wait for, and how those that already ended went.
    private var awaitedStarts: Set<StateMachine.InstanceID> = []
    private var startOutcomes: [StateMachine.InstanceID: Result<Void, any Error>] = [:]
    /// `scale(to:)` callers waiting for the starts they asked for.
    private var startWaiters: [StateMachine.InstanceID: CheckedContinuation<Result<Void, any Error>, Never>] = [:]
    /// Starts and stops in flight: `shutdown()` returns only once every one has finished.
    private var chores: [Int: Task<Void, Never>] = [:]
    private var nextChore = 0
    private var drainers: [CheckedContinuation<Void, Never>] = []
    private let clock = ContinuousClock()
    /// Where invocations on a share rung wait for their device (nil: never shared).
    private let shareGate: ShareGate?
    /// Requests waiting for the device's quota scheduler.
    private var gated = 0
    /// The scheduler of the share rung's device, found once per rung (not on every request).
    private var deviceScheduler: (rung: Backend, scheduler: DeviceScheduler)?
    /// Groups requests into batches (nil: the function does not batch).
    public nonisolated let batcher: BatchFormer?
    /// The machine's instance slots, shared with every other pool (nil: not bounded).
    private let slots: InstanceSlots?
    /// Starts refused for want of a slot since `takeRefusedStarts()` was last asked.
    private var refusedStarts = 0

    /// Creates an empty pool; `configuration(id, backend)` describes instance `id`'s worker on a
    /// rung. On a share rung (a time quota under 100%) each invocation first waits for its device's
    /// quota scheduler through `shareGate`.
    public init(
        backend: Backend, settings: PoolSettings = PoolSettings(), shareGate: ShareGate? = nil, slots: InstanceSlots? = nil,
        configuration: @escaping @Sendable (Int, Backend) -> WorkerConfiguration
    ) {
        self.slots = slots
        self.backend = backend
        self.settings = settings
        self.shareGate = shareGate
        self.batcher = settings.batching.map { BatchFormer(policy: $0) }
        self.makeConfiguration = configuration
        self.machine = StateMachine(limits: .init(
            maxScale: settings.maxScale, queueLimit: settings.queueLimit, slotsPerInstance: settings.instanceConcurrency,
            startsForQueue: settings.startsForQueue))
    }

    /// Requests in the pool (running, queued, waiting on a cold start or for their share of the
    /// device): what the autoscaler observes.
    public var concurrency: Double { Double(machine.requestCount + gated) }

    /// Instances running or starting.
    public var instanceCount: Int { machine.instanceCount }

    /// Starts refused since the last call because the machine had no slot left (the demand the
    /// control loop's fair share must see); resets the count.
    public func takeRefusedStarts() -> Int {
        defer { refusedStarts = 0 }
        return refusedStarts
    }

    /// Process ids of the running instances.
    public var pids: [Int32] {
        get async {
            var result: [Int32] = []
            for id in machine.freeSlots.keys.sorted() {
                if let worker = workers[id] { result.append(await worker.pid) }
            }
            return result
        }
    }

    /// Runs one invocation on an instance of this pool; on a share rung, once the device's quota
    /// scheduler admits it (every request of the pool asks, so the scheduler sees its demand; it
    /// admits no more than the pool's instances can run). The wait counts as queueing.
    public func invoke(_ body: [UInt8], contentType: String, stream: ResponseStream?) async throws -> InvocationOutcome {
        let arrived = clock.now
        guard backend.isShare, let shareGate else { return try await run(body, contentType: contentType, stream: stream, arrived: arrived) }
        let scheduler: DeviceScheduler
        if let known = deviceScheduler, known.rung == backend.wholeTime {
            scheduler = known.scheduler
        } else {
            scheduler = shareGate.schedulers.scheduler(for: backend, cores: makeConfiguration(1, backend).cpus)
            deviceScheduler = (backend.wholeTime, scheduler)
        }
        gated += 1
        let ticket = await scheduler.admit(
            client: shareGate.client, quotaPercent: backend.quotaPercent, smPercent: backend.smPercent,
            slots: max(1, machine.instanceCount) * settings.instanceConcurrency)
        gated -= 1
        do {
            let outcome = try await run(body, contentType: contentType, stream: stream, arrived: arrived)
            await scheduler.finished(ticket)
            return outcome
        } catch {
            await scheduler.finished(ticket)
            throw error
        }
    }

    /// Runs one invocation that arrived at `arrived` on an instance.
    private func run(
        _ body: [UInt8], contentType: String, stream: ResponseStream?, arrived: ContinuousClock.Instant
    ) async throws -> InvocationOutcome {
        nextRequest += 1
        let request = nextRequest
        let id: StateMachine.InstanceID
        let cold: Bool
        let actions = machine.requestArrived(request)
        switch actions.first {
        case .dispatch(request, let instance, let waited) where actions.count == 1:
            (id, cold) = (instance, waited)  // a free slot: no suspension on the warm path
        case .fail(request, let failure) where actions.count == 1:
            throw error(for: failure)
        default:
            (id, cold) = try await withCheckedThrowingContinuation { continuation in
                requests[request] = continuation
                execute(actions)
            }
        }
        let handedOver = clock.now
        guard let worker = workers[id] else {
            execute(machine.requestFinished(request, instanceHealthy: false))
            throw WorkerError.notReady("instance \(id) was removed")
        }
        do {
            let batch = await batcher?.join(instance: id, arrived: arrived)
            let response = try await worker.invoke(
                body, contentType: contentType, batch: batch, timeout: settings.invocationTimeout, stream: stream)
            execute(machine.requestFinished(request, instanceHealthy: true))
            return InvocationOutcome(
                response: response, instance: id, coldStart: cold, queueMilliseconds: (handedOver - arrived).inMilliseconds,
                totalMilliseconds: (clock.now - arrived).inMilliseconds)
        } catch let error as WorkerError where error.instanceSurvives {
            execute(machine.requestFinished(request, instanceHealthy: true))
            throw error
        } catch {
            execute(machine.requestFinished(request, instanceHealthy: false))
            throw error
        }
    }

    /// Starts instances up to `desired` (pre-warming) or stops idle ones above it (down to zero);
    /// returns once the instances it started are ready, throwing the first start's error.
    public func scale(to desired: Int) async throws {
        try await beginScaling(to: desired).value
    }

    /// Starts instances up to `desired` or stops idle ones above it now (`instanceCount` counts
    /// them at once) without waiting for either: the task returned ends once the stops are done and
    /// the starts have ended, throwing the first start's error. The control loop waits for no start.
    public func beginScaling(to desired: Int) -> Task<Void, any Error> {
        let actions = machine.scale(to: desired)
        let starts = actions.compactMap { action -> StateMachine.InstanceID? in
            if case .startInstance(let id) = action { id } else { nil }
        }
        awaitedStarts.formUnion(starts)  // before any start can end: its outcome is kept for us
        let stops = execute(actions)
        return Task {
            for stop in stops { await stop.value }
            try await self.waitForStarts(starts)
        }
    }

    /// Waits until each of `starts` has ended; throws the first one's error.
    private func waitForStarts(_ starts: [StateMachine.InstanceID]) async throws {
        var firstError: (any Error)?
        for id in starts {
            let outcome: Result<Void, any Error>
            if let ended = startOutcomes.removeValue(forKey: id) {
                outcome = ended
            } else {
                outcome = await withCheckedContinuation { startWaiters[id] = $0 }
            }
            awaitedStarts.remove(id)
            if case .failure(let error) = outcome { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    /// Changes the time quota of a share rung (`target` differs from the rung only in its quota):
    /// the next invocation asks the device's scheduler with it; no instance restarts.
    public func changeQuota(to target: Backend) {
        guard target.wholeTime == backend.wholeTime else { return }
        backend = target
    }

    /// Vertical scaling: moves every running instance to `target` in place (new cores and thread
    /// counts, no restart) and starts later instances there. Throws, leaving the pool on its old
    /// rung, if an instance refuses; instances already moved are moved back.
    public func resize(to target: Backend) async throws {
        let old = backend
        backend = target  // instances starting meanwhile start on the new rung
        var moved: [(Int, WorkerProcess)] = []
        for id in machine.freeSlots.keys.sorted() {
            guard let worker = workers[id] else { continue }
            do {
                try await worker.resize(to: target, cpus: makeConfiguration(id, target).cpus)
                moved.append((id, worker))
            } catch {
                backend = old
                for (id, w) in moved { _ = try? await w.resize(to: old, cpus: makeConfiguration(id, old).cpus) }
                throw error
            }
        }
    }

    /// Waits until the requests in the pool (and any that still arrive meanwhile) have finished,
    /// then stops every instance: how a rung is left after traffic has moved to another.
    public func drain() async {
        let actions = machine.drain()
        if machine.phase != .closed { await withCheckedContinuation { drainers.append($0) } } else { execute(actions) }
        await finishChores()
    }

    /// Stops every instance (also those still starting), fails waiting requests, and returns once
    /// every worker process of the pool has been reaped; the pool takes no more work.
    public func shutdown() async {
        execute(machine.close())
        await finishChores()
    }

    private func finishChores() async {
        while let (key, chore) = chores.first {
            await chore.value
            chores.removeValue(forKey: key)
        }
    }

    // MARK: Carrying out the state machine's actions

    /// Carries out actions; returns the stops it began, for callers that wait for them.
    @discardableResult
    private func execute(_ actions: [StateMachine.Action]) -> [Task<Void, Never>] {
        var stops: [Task<Void, Never>] = []
        for action in actions {
            switch action {
            case .startInstance(let id):
                guard slots?.take() ?? true else {
                    refusedStarts += 1
                    startFailed(id, PoolError.machineFull(slots!.capacity))
                    continue
                }
                let worker = WorkerProcess(configuration: makeConfiguration(id, backend))
                workers[id] = worker
                let timeout = settings.startTimeout
                chore {
                    do {
                        try await worker.start(timeout: timeout)
                        await self.started(id, worker)
                    } catch {
                        await self.startFailed(id, error)
                    }
                }
            case .cancelStart(let id), .stopInstance(let id):
                guard let worker = workers.removeValue(forKey: id) else { continue }
                let slots = slots
                stops.append(chore {
                    await worker.terminate()
                    slots?.give()
                })
            case .dispatch(let request, let id, let cold):
                requests.removeValue(forKey: request)?.resume(returning: (id, cold))
            case .fail(let request, let failure):
                requests.removeValue(forKey: request)?.resume(throwing: error(for: failure))
            case .drained:
                let waiting = drainers
                drainers = []
                for d in waiting { d.resume() }
            }
        }
        return stops
    }

    /// Runs work the pool must see finished before `shutdown()` returns.
    @discardableResult
    private func chore(_ work: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        nextChore += 1
        let key = nextChore
        let task = Task {
            await work()
            self.choreDone(key)
        }
        chores[key] = task
        return task
    }

    private func choreDone(_ key: Int) { chores.removeValue(forKey: key) }

    private func started(_ id: StateMachine.InstanceID, _ worker: WorkerProcess) {
        execute(machine.instanceStarted(id))
        startEnded(id, .success(()))
        guard machine.freeSlots[id] != nil else { return }
        // Notice a worker that dies between requests, so it is replaced rather than handed work.
        chore {
            await worker.waitUntilEnded()
            await self.ended(id, worker)
        }
    }

    private func ended(_ id: StateMachine.InstanceID, _ worker: WorkerProcess) {
        guard workers[id] === worker else { return }
        execute(machine.instanceCrashed(id))
    }

    private func startFailed(_ id: StateMachine.InstanceID, _ error: any Error) {
        if workers.removeValue(forKey: id) != nil { slots?.give() }  // its process is gone
        // A start a later scale-down cancelled (the pool still open) did not fail the scaling that
        // began it: the load no longer needed it. One a close cancelled did.
        let superseded = machine.cancelled.contains(id) && machine.phase == .open
        startErrors[id] = error
        execute(machine.instanceStartFailed(id))
        startErrors.removeValue(forKey: id)
        startEnded(id, superseded ? .success(()) : .failure(error))
    }

    /// Hands a start's outcome to the `scale(to:)` call waiting for it, or keeps it for that call.
    private func startEnded(_ id: StateMachine.InstanceID, _ outcome: Result<Void, any Error>) {
        if let waiter = startWaiters.removeValue(forKey: id) {
            waiter.resume(returning: outcome)
        } else if awaitedStarts.contains(id) {
            startOutcomes[id] = outcome
        }
    }

    private func error(for failure: StateMachine.Failure) -> any Error {
        switch failure {
        case .queueFull: PoolError.queueFull(limit: settings.queueLimit)
        case .shuttingDown: PoolError.shuttingDown
        case .startFailed(let id): startErrors[id] ?? WorkerError.launchFailed("instance \(id) failed to start")
        }
    }
}

extension InstancePool {
    /// The pool's decisions (GaiaCore, shared with the simulator).
    public typealias StateMachine = PoolStateMachine
}
