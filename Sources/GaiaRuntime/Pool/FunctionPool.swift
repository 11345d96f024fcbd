public import GaiaCore
public import GaiaStore

/// The instances of one revision of a function on one rung, as `FunctionRuntime` drives them: an
/// `InstancePool` of local worker processes, or a cluster's pods of one variant (`GaiaKube`).
/// The runtime's control (autoscaling, rung switches, draining) is the same over both.
public protocol FunctionPool: Actor {
    /// The rung its instances run on.
    var backend: Backend { get }
    /// Requests in the pool (running or waiting): what the autoscaler observes.
    var concurrency: Double { get }
    /// Instances running or starting.
    var instanceCount: Int { get }
    /// Process ids of its local instances (none on a cluster).
    var pids: [Int32] { get async }
    /// Groups requests into batches (nil: the function does not batch here).
    nonisolated var batcher: BatchFormer? { get }

    /// Runs one invocation on an instance; a handler that streams sends its chunks to `stream`
    /// (without one, they are collected into the response).
    func invoke(_ body: [UInt8], contentType: String, stream: ResponseStream?) async throws -> InvocationOutcome
    /// Keeps `desired` instances (starting or stopping idle ones); returns once those it started are ready.
    func scale(to desired: Int) async throws
    /// Begins what `scale(to:)` does and returns at once (or as soon as the pool has counted the
    /// change); the task ends when `scale(to:)` would have returned.
    func beginScaling(to desired: Int) async -> Task<Void, any Error>
    /// Takes another time quota of the same device, in place.
    func changeQuota(to target: Backend)
    /// Moves its instances to another CPU rung in place.
    func resize(to target: Backend) async throws
    /// Finishes the requests in it, then lets its instances go: how a rung is left after a switch.
    func drain() async
    /// Stops its instances and fails waiting requests; it takes no more work.
    func shutdown() async
}

extension FunctionPool {
    /// `scale(to:)` in a task of its own (a cluster's pool: its scaling is a call to the cluster).
    public func beginScaling(to desired: Int) -> Task<Void, any Error> {
        Task { try await self.scale(to: desired) }
    }

    /// Runs one invocation on an instance; a streamed answer is collected whole.
    public func invoke(_ body: [UInt8], contentType: String) async throws -> InvocationOutcome {
        try await invoke(body, contentType: contentType, stream: nil)
    }
}

extension InstancePool: FunctionPool {}

/// Where functions run when not on this machine: a cluster that publishes each revision and gives
/// the pools of its rungs (`GaiaKube.KnativeCluster`). `FunctionRuntime` calls it in place of
/// starting local worker processes; its store, controller and API stay the same.
public protocol ClusterBackend: Sendable {
    /// The rungs the cluster offers (a CPU variant and, with GPU nodes, a GPU variant).
    var ladder: BackendLadder { get }
    /// Where it runs, for people (`namespace ml on https://…`).
    var summary: String { get }
    /// Makes a new revision's code and variants exist on the cluster, before its first instance
    /// is asked for; a refusal fails the deploy with the cluster's reason.
    func publish(_ function: StoredFunction, files: [String: [UInt8]]) async throws
    /// The pool of one revision's instances on one rung.
    func pool(for function: StoredFunction, on backend: Backend, settings: PoolSettings) -> any FunctionPool
    /// The function was deleted: remove what `publish` made.
    func remove(_ name: String) async throws
    /// Stops its background work (watches); the cluster's objects stay.
    func shutdown() async
}
