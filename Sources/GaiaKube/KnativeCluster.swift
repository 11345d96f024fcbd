import AsyncHTTPClient
import Crypto
import Foundation
public import GaiaCore
public import GaiaRuntime
public import GaiaStore
public import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// `gaia serve --cluster`: Gaia's functions run on Knative Serving instead of local worker
/// processes; the gateway, store, controller and dashboard stay Gaia's own.
///
/// Each deploy puts the function's files in an immutable ConfigMap (named by their hash) and
/// applies one Knative Service per variant its mode allows (`KnativeRenderer`), both on Gaia's
/// runtime images, so no image is built per function. The ladder is two rungs, the CPU variant
/// and the GPU variant; a pool of a rung is that variant's latest revision (`KnativePool`). The
/// runtime's rung switch is then exactly the documented sequence: the target pool's
/// `scale(to:)` raises its revision's min-scale and waits for its pods, traffic moves, and the
/// old pool's `drain()` lowers its min-scale to 0 — no new revision, no cold start on the request
/// path. Instance counts come from one watch of every Gaia revision in the namespace.
public final class KnativeCluster: ClusterBackend {
    /// The API client (closed by `shutdown()`).
    public let client: KubeClient
    /// How Services are rendered: namespace, images, cores, GPU resource.
    public let options: KubeRenderOptions
    public let ladder: BackendLadder
    public var summary: String { "namespace \(client.config.namespace) on \(client.config.server)" }
    /// Largest total size of a function's files (they travel in a ConfigMap, at most 1 MiB in etcd).
    public static let maxCodeBytes = 750 * 1024
    /// Longest a new revision may take to be reconciled (its Service's `observedGeneration`).
    let reconcileTimeout: Duration
    /// Largest response one invocation may return (`max_response_mb`).
    let maxResponseBytes: Int
    /// The base URL of a Service; nil: the `url` in its status (cluster-local).
    let endpoint: (@Sendable (String) -> String?)?
    let http: HTTPClient
    let logger: Logger
    /// Per revision name, its pods now (`actualReplicas`), from the watch and the pools' reads.
    let replicas = Mutex<[String: Int]>([:])
    /// Per Service, its latest revision and URL, from the last publish or read.
    let latest = Mutex<[String: (revision: String, url: String?)]>([:])
    private let informer = Mutex<Task<Void, Never>?>(nil)

    /// A cluster over `client`, rendering with `options` (its `image` and `gpuImage` are the
    /// runtime images); `gpu: false` for a cluster without GPU nodes (the ladder is then the CPU
    /// variant alone).
    public init(
        client: KubeClient, options: KubeRenderOptions, gpu: Bool = true, reconcileTimeout: Duration = .seconds(60),
        maxResponseBytes: Int = 64 << 20, endpoint: (@Sendable (String) -> String?)? = nil, logger: Logger = Logger(label: "gaia.cluster")
    ) {
        self.client = client
        var options = options
        options.namespace = client.config.namespace
        self.options = options
        self.ladder = BackendLadder(rungs: [.cpu(cores: options.cpuCores)] + (gpu ? [.gpu(device: 0, smPercent: 100)] : []))
        self.reconcileTimeout = reconcileTimeout
        self.maxResponseBytes = maxResponseBytes
        self.endpoint = endpoint
        self.logger = logger
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let lastFailure = Mutex<String?>(nil)
        let updates = client.revisionUpdates(labelSelector: "\(KnativeRenderer.prefix)function") { [logger] error in
            // Once per distinct failure, not at every retry.
            guard lastFailure.withLock({ last in defer { last = error.description }; return last != error.description }) else { return }
            logger.warning("cannot watch the functions' revisions (retrying); instance counts are stale", metadata: ["error": "\(error)"])
        }
        informer.withLock {
            $0 = Task { [weak self] in
                for await revision in updates { self?.saw(revision) }
            }
        }
    }

    /// The variant a rung stands for.
    static func variant(of backend: Backend) -> Variant { backend.deviceClass == .gpu ? .gpu : .cpu }

    /// The ConfigMap holding these files: named by their hash, so a redeploy of the same files reuses it.
    public static func codeConfigMap(function: String, files: [String: [UInt8]]) -> CodeConfigMap {
        var hash = SHA256()
        for path in files.keys.sorted() {
            hash.update(data: Array(path.utf8) + [0] + Array(String(files[path]!.count).utf8) + [0])
            hash.update(data: files[path]!)
        }
        let hex = hash.finalize().map { String(format: "%02x", $0) }.joined()
        return CodeConfigMap(name: "\(function)-code-\(hex.prefix(12))", paths: Array(files.keys))
    }

    public func publish(_ function: StoredFunction, files: [String: [UInt8]]) async throws {
        let size = files.values.reduce(0) { $0 + $1.count }
        guard size <= Self.maxCodeBytes else {
            throw PlatformError(
                "too_large", "on a cluster a function's files travel in a ConfigMap: at most \(Self.maxCodeBytes / 1024) KiB, and these are \(size / 1024) KiB; put large files (model weights) in the runtime image or fetch them in init()",
                status: 413)
        }
        let code = Self.codeConfigMap(function: function.name, files: files)
        var options = self.options
        options.code = code
        let services: [KnativeService]
        do {  // rendered first: a function the cluster cannot take leaves nothing there
            services = try KnativeRenderer.services(for: function.manifest, revision: function.revision, options: options)
        } catch let error as KubeRenderError {
            throw PlatformError("invalid_function", error.description, status: 400)
        }
        let labels = ["\(KnativeRenderer.prefix)function": function.name, "app.kubernetes.io/managed-by": "gaia"]
        try await client.applyConfigMap(
            name: code.name, labels: labels,
            binaryData: Dictionary(uniqueKeysWithValues: code.paths.enumerated().map { (CodeConfigMap.key($0.offset), files[$0.element]!) }),
            immutable: true)
        for service in services {
            let applied = try await client.apply(service)
            try await reconciled(applied.metadata.name, generation: applied.metadata.generation ?? 1)
        }
    }

    /// Waits until Knative has made the revision of a Service's latest template, and notes it.
    func reconciled(_ service: String, generation: Int) async throws {
        let deadline = ContinuousClock.now + reconcileTimeout
        while true {
            let object = try await client.service(service)
            if (object.status?.observedGeneration ?? 0) >= generation, let revision = object.status?.latestCreatedRevisionName {
                latest.withLock { $0[service] = (revision, object.status?.url) }
                return
            }
            guard ContinuousClock.now < deadline else {
                throw KubeError(status: 0, reason: "Timeout", message: "Knative did not make a revision of \(service) in \(reconcileTimeout) (is its controller running?)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// A Service's latest revision and base URL: as last published, else read from the cluster.
    func route(of service: String) async throws -> (revision: String, url: String) {
        var known = latest.withLock { $0[service] }
        if known == nil {
            let object = try await client.service(service)
            guard let revision = object.status?.latestCreatedRevisionName else {
                throw KubeError(status: 0, reason: "NotReady", message: "\(service) has no revision yet (\(object.notReadyReason ?? "no status"))")
            }
            known = (revision, object.status?.url)
            latest.withLock { $0[service] = known }
        }
        guard let known, let url = endpoint?(service) ?? known.url else {
            throw KubeError(status: 0, reason: "NotReady", message: "\(service) has no URL in its status yet")
        }
        return (known.revision, url)
    }

    /// Pods of a revision, as last seen.
    func pods(of revision: String) -> Int { replicas.withLock { $0[revision] ?? 0 } }

    /// Notes what a read of a revision showed.
    func saw(_ revision: KnativeObject) {
        replicas.withLock { $0[revision.metadata.name] = revision.status?.actualReplicas ?? 0 }
    }

    public func pool(for function: StoredFunction, on backend: Backend, settings: PoolSettings) -> any FunctionPool {
        KnativePool(
            cluster: self, service: KnativeRenderer.serviceName(function.name, Self.variant(of: backend)), backend: backend, settings: settings)
    }

    public func remove(_ name: String) async throws {
        for variant in Variant.allCases {
            let service = KnativeRenderer.serviceName(name, variant)
            try await client.deleteService(service)
            latest.withLock { _ = $0.removeValue(forKey: service) }
        }
        try await client.deleteConfigMaps(labelSelector: "\(KnativeRenderer.prefix)function=\(name)")
    }

    public func shutdown() async {
        informer.withLock { $0?.cancel() }
        try? await http.shutdown()
        try? await client.shutdown()
    }

    // MARK: Invocations

    /// POSTs one payload to a Service (the function's HTTP shim behind Knative's queue proxy) and
    /// reads the answer as a worker's: 200 the handler's result, 500 its error, 400 a bad payload.
    /// An answer in chunked encoding (a generator's items, from the shim's HTTP mode) goes to
    /// `stream` as it is read, when there is one; a stream whose client went away ends the request.
    func post(
        _ body: [UInt8], contentType: String, to url: String, service: String, timeout: Duration, maxBytes: Int,
        stream: ResponseStream?
    ) async throws -> WorkerResponse {
        var request = HTTPClientRequest(url: url.hasSuffix("/") ? url : url + "/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        let started = ContinuousClock.now
        do {
            response = try await http.execute(request, timeout: TimeAmount(timeout))
            if let stream, (200..<300).contains(response.status.code), response.headers[canonicalForm: "Transfer-Encoding"].contains("chunked") {
                var chunks = 0
                for try await part in response.body {
                    if stream.isCancelled { throw WorkerError.cancelled("the client went away after \(chunks) chunk(s)") }
                    stream.yield(Array(part.readableBytesView), contentType: response.headers.first(name: "Content-Type"))
                    chunks += 1
                }
                return WorkerResponse(
                    body: [], contentType: response.headers.first(name: "Content-Type") ?? "application/octet-stream",
                    handlerMilliseconds: (ContinuousClock.now - started).inMilliseconds, chunks: chunks)
            }
            bytes = try await response.body.collect(upTo: maxBytes)
        } catch let error as WorkerError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw WorkerError.timedOut(after: timeout)
        } catch is NIOTooManyBytesError {
            throw WorkerError.protocolViolation("the response is over the \(maxBytes >> 20) MiB limit (max_response_mb)")
        } catch {
            throw WorkerError.notReady("cannot reach \(service) at \(url): \(error)")
        }
        let status = Int(response.status.code)
        if (200..<300).contains(status) {
            return WorkerResponse(
                body: Array(bytes.readableBytesView), contentType: response.headers.first(name: "Content-Type") ?? "application/octet-stream",
                handlerMilliseconds: response.headers.first(name: "Gaia-Duration-Ms").flatMap(Double.init).map { max(0, min($0, 1e12)) } ?? 0)
        }
        // An error answer: read as the shim's `{"error", "traceback"}` once, as text otherwise.
        struct Failure: Decodable { var error: String?; var traceback: String? }
        let failure = try? JSONDecoder().decode(Failure.self, from: Data(bytes.readableBytesView))
        let text = String(buffer: bytes).prefix(300)
        switch (status, failure?.error) {
        case (500, let message?):
            throw WorkerError.handlerFailed(error: message, traceback: failure?.traceback ?? "")
        case (400, let message):
            throw WorkerError.badRequest(message ?? String(text))
        case (504, _):
            throw WorkerError.timedOut(after: timeout)
        default:
            throw WorkerError.notReady("\(service) answered HTTP \(status): \(text)")
        }
    }
}

/// The pods of one variant of a function on the cluster, as a pool: invocations go to its
/// Service over HTTP; `scale(to:)` sets its latest revision's min-scale (Knative's autoscaler may
/// add pods above it) and waits for them; `drain()` waits for its requests, then sets it to 0.
actor KnativePool: FunctionPool {
    let backend: Backend
    nonisolated let batcher: BatchFormer? = nil
    let cluster: KnativeCluster
    let service: String
    let settings: PoolSettings
    /// The revision's min-scale as Gaia last set it (nil: not yet).
    private var minScale: Int?
    /// The revision and URL this pool serves: its Service's latest when first used, then fixed, so
    /// that a pool left by a redeploy lowers its own revision, never the new one.
    private var bound: (revision: String, url: String)?
    private var inFlight = 0
    private var closed = false
    private var drainers: [CheckedContinuation<Void, Never>] = []

    init(cluster: KnativeCluster, service: String, backend: Backend, settings: PoolSettings) {
        self.cluster = cluster
        self.service = service
        self.backend = backend
        self.settings = settings
    }

    var concurrency: Double { Double(inFlight) }
    var instanceCount: Int { bound.map { cluster.pods(of: $0.revision) } ?? 0 }
    var pids: [Int32] { [] }

    func invoke(_ body: [UInt8], contentType: String, stream: ResponseStream?) async throws -> InvocationOutcome {
        guard !closed else { throw PoolError.shuttingDown }
        let limit = settings.queueLimit + settings.maxScale * settings.instanceConcurrency
        guard inFlight < limit else { throw PoolError.queueFull(limit: settings.queueLimit) }
        let arrived = ContinuousClock.now
        inFlight += 1
        defer { finished() }
        let route: (revision: String, url: String)
        do {
            route = try await bind()
        } catch {
            throw WorkerError.notReady("\(error)")
        }
        // Knative's activator holds a request while pods start; with none seen, this one waits for one.
        let cold = cluster.pods(of: route.revision) == 0
        let response = try await cluster.post(
            body, contentType: contentType, to: route.url, service: service, timeout: settings.invocationTimeout,
            maxBytes: cluster.maxResponseBytes, stream: stream)
        let total = (ContinuousClock.now - arrived).inMilliseconds
        return InvocationOutcome(
            response: response, instance: 0, coldStart: cold, queueMilliseconds: cold ? max(0, total - response.handlerMilliseconds) : 0,
            totalMilliseconds: total)
    }

    private func bind() async throws -> (revision: String, url: String) {
        if let bound { return bound }
        let route = try await cluster.route(of: service)
        if bound == nil { bound = route }  // another call may have bound it meanwhile
        return bound!
    }

    private func finished() {
        inFlight -= 1
        if inFlight == 0 {
            let waiting = drainers
            drainers = []
            for d in waiting { d.resume() }
        }
    }

    /// Sets the revision's min-scale to `desired` (capped at max scale) and, when it rose, waits
    /// until that many pods are ready; a revision that fails (its `Ready` condition `False`) or is
    /// not ready by the start timeout has its min-scale put back and the start fails.
    func scale(to desired: Int) async throws {
        guard !closed else { throw PoolError.shuttingDown }
        let n = min(max(0, desired), settings.maxScale)
        let revision: String
        do {
            revision = try await bind().revision
        } catch {
            throw WorkerError.launchFailed("\(error)")
        }
        let previous = minScale
        guard n != previous else { return }
        do {
            try await cluster.client.setMinScale(revision: revision, to: n)
        } catch {
            throw WorkerError.launchFailed("\(error)")
        }
        minScale = n
        guard n > (previous ?? 0) else { return }
        let object: KnativeObject
        do {
            object = try await cluster.client.waitForRevision(revision, until: .now + settings.startTimeout) {
                ($0.isReady && ($0.status?.actualReplicas ?? 0) >= n) || $0.hasFailed
            }
        } catch {
            await putBack(revision, to: previous)
            throw WorkerError.launchFailed("\(error)")
        }
        cluster.saw(object)
        if object.hasFailed {
            await putBack(revision, to: previous)
            throw WorkerError.initFailed(error: "revision \(revision) failed: \(object.notReadyReason ?? "not ready")", traceback: "")
        }
    }

    private func putBack(_ revision: String, to previous: Int?) async {
        _ = try? await cluster.client.setMinScale(revision: revision, to: previous ?? 0)
        minScale = previous ?? 0
    }

    /// One variant of a cluster has one CPU rung: nothing to move in place.
    func changeQuota(to target: Backend) {}

    func resize(to target: Backend) async throws {
        throw WorkerError.launchFailed("a cluster variant cannot be resized in place; its pods have the cores the Service gives them")
    }

    /// Waits for the requests in flight, then lowers the revision's min-scale to 0: Knative lets
    /// its pods go once idle (after the retention period).
    func drain() async {
        if inFlight > 0 { await withCheckedContinuation { drainers.append($0) } }
        await shutdown()
    }

    /// Takes no more work and lowers a min-scale Gaia raised back to 0; the pods are Knative's to stop.
    func shutdown() async {
        closed = true
        if let revision = bound?.revision, let minScale, minScale > 0 {
            _ = try? await cluster.client.setMinScale(revision: revision, to: 0)
            self.minScale = 0
        }
    }
}
