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

    /// The defaults.
    public init() {}
}

/// Why a pool refused a request.
public enum PoolError: Error, CustomStringConvertible, Equatable {
    /// Every instance is busy, no more may start, and the queue is full.
    case queueFull(limit: Int)
    /// The pool is shutting down.
    case shuttingDown

    /// A message for a person.
    public var description: String {
        switch self {
        case .queueFull(let limit): "all instances are busy and \(limit) requests are already waiting; retry shortly"
        case .shuttingDown: "the function is shutting down"
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
}

/// The instances of one function on one rung, and the requests waiting for them.
///
/// A request takes a free slot on a running instance (the one with the most free slots), or starts
/// a new instance while the pool is under `maxScale` (a cold start), or waits in a bounded queue
/// for the next slot to free up. An instance
/// whose worker crashes or times out is removed and, if requests are waiting, replaced.
public actor InstancePool {
    /// The rung the instances run on (it changes with `resize`).
    public private(set) var backend: Backend
    private let settings: PoolSettings
    private let makeConfiguration: @Sendable (Int, Backend) -> WorkerConfiguration
    private var instances: [Int: WorkerProcess] = [:]
    /// Free request slots of each running instance (at most `instanceConcurrency`).
    private var slots: [Int: Int] = [:]
    private var starting = 0
    private var waiting: Deque<CheckedContinuation<(Int, Bool), any Error>> = []
    /// Requests from arrival to completion: queued, waiting on a cold start, or running.
    private var active = 0 {
        didSet { if active == 0 { resumeDrainers() } }
    }
    private var drainers: [CheckedContinuation<Void, Never>] = []
    private var nextID = 0
    private var closed = false
    private let clock = ContinuousClock()

    /// Creates an empty pool; `configuration(id, backend)` describes instance `id`'s worker on a rung.
    public init(
        backend: Backend, settings: PoolSettings = PoolSettings(), configuration: @escaping @Sendable (Int, Backend) -> WorkerConfiguration
    ) {
        self.backend = backend
        self.settings = settings
        self.makeConfiguration = configuration
    }

    /// Requests in the pool (running, queued or waiting on a cold start): what the autoscaler observes.
    public var concurrency: Double { Double(active) }

    /// Instances running or starting.
    public var instanceCount: Int { instances.count + starting }

    /// Process ids of the running instances.
    public var pids: [Int32] {
        get async {
            var result: [Int32] = []
            for worker in instances.values { result.append(await worker.pid) }
            return result
        }
    }

    /// Runs one invocation on an instance of this pool.
    public func invoke(_ body: [UInt8], contentType: String) async throws -> InvocationOutcome {
        let arrived = clock.now
        active += 1
        defer { active -= 1 }
        let (id, cold) = try await acquire()
        let handedOver = clock.now
        guard let worker = instances[id] else { throw WorkerError.notReady("instance \(id) was removed") }
        do {
            let response = try await worker.invoke(body, contentType: contentType, timeout: settings.invocationTimeout)
            release(id)
            return InvocationOutcome(
                response: response, instance: id, coldStart: cold, queueMilliseconds: (handedOver - arrived).inMilliseconds,
                totalMilliseconds: (clock.now - arrived).inMilliseconds)
        } catch WorkerError.handlerFailed(let error, let traceback) {
            release(id)
            throw WorkerError.handlerFailed(error: error, traceback: traceback)
        } catch {
            await remove(id)
            throw error
        }
    }

    /// Starts instances up to `desired` (pre-warming) or stops idle ones above it (down to zero).
    public func scale(to desired: Int) async throws {
        let target = min(max(desired, 0), settings.maxScale)
        while instanceCount < target && !closed {
            let id = try await startInstance()
            serveWaiting(on: id)
        }
        let concurrency = max(1, settings.instanceConcurrency)
        while instanceCount > target, let id = slots.filter({ $0.value == concurrency }).keys.max() {
            await remove(id, replace: false)
        }
    }

    /// Vertical scaling: moves every running instance to `target` in place (new cores and thread
    /// counts, no restart) and starts later instances there. Throws, leaving the pool on its old
    /// rung, if an instance refuses; instances already moved are moved back.
    public func resize(to target: Backend) async throws {
        let old = backend
        backend = target  // instances starting meanwhile start on the new rung
        var moved: [(Int, WorkerProcess)] = []
        for (id, worker) in instances.sorted(by: { $0.key < $1.key }) {
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
        if active > 0 { await withCheckedContinuation { drainers.append($0) } }
        await shutdown()
    }

    private func resumeDrainers() {
        let waiting = drainers
        drainers = []
        for d in waiting { d.resume() }
    }

    /// Stops every instance and fails waiting requests; the pool takes no more work.
    public func shutdown() async {
        closed = true
        while let waiter = waiting.popFirst() { waiter.resume(throwing: PoolError.shuttingDown) }
        for id in Array(instances.keys) { await remove(id, replace: false) }
    }

    /// A free slot on a running instance, a newly started instance (cold), or a place in the queue.
    private func acquire() async throws -> (Int, Bool) {
        guard !closed else { throw PoolError.shuttingDown }
        if let best = slots.filter({ $0.value > 0 }).max(by: { ($0.value, -$0.key) < ($1.value, -$1.key) }) {
            slots[best.key]! -= 1
            return (best.key, false)
        }
        if instanceCount < settings.maxScale {
            do {
                let id = try await startInstance()
                slots[id]! -= 1
                serveWaiting(on: id)
                return (id, true)
            } catch {
                failWaiting(with: error)
                throw error
            }
        }
        guard waiting.count < settings.queueLimit else { throw PoolError.queueFull(limit: settings.queueLimit) }
        return try await withCheckedThrowingContinuation { waiting.append($0) }
    }

    /// Frees a request slot on an instance and gives it to the first waiting request, if any.
    private func release(_ id: Int) {
        guard slots[id] != nil else { return }
        slots[id]! += 1
        serveWaiting(on: id)
    }

    /// Hands an instance's free slots to waiting requests, first come first served.
    private func serveWaiting(on id: Int) {
        while let free = slots[id], free > 0, let waiter = waiting.popFirst() {
            slots[id] = free - 1
            waiter.resume(returning: (id, false))
        }
    }

    private func startInstance() async throws -> Int {
        nextID += 1
        let id = nextID
        let worker = WorkerProcess(configuration: makeConfiguration(id, backend))
        starting += 1
        defer { starting -= 1 }
        try await worker.start(timeout: settings.startTimeout)
        instances[id] = worker
        slots[id] = max(1, settings.instanceConcurrency)
        return id
    }

    /// Stops an instance; if requests are waiting and there is room, starts a replacement for them.
    private func remove(_ id: Int, replace: Bool = true) async {
        slots.removeValue(forKey: id)
        guard let worker = instances.removeValue(forKey: id) else { return }
        await worker.terminate()
        guard replace, !closed, let waiter = waiting.popFirst() else { return }
        do {
            let replacement = try await startInstance()
            slots[replacement]! -= 1
            waiter.resume(returning: (replacement, true))
            serveWaiting(on: replacement)
        } catch {
            waiter.resume(throwing: error)
            failWaiting(with: error)
        }
    }

    /// A start just failed: the requests queued behind it would fail the same way, so they fail
    /// now instead of waiting for an instance that may never come.
    private func failWaiting(with error: any Error) {
        if instanceCount > 0 { return }  // other instances will free up and serve them
        while let waiter = waiting.popFirst() { waiter.resume(throwing: error) }
    }
}
