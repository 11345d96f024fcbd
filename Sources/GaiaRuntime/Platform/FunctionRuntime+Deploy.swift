import Foundation
public import GaiaCore
import GaiaAnalyzer
import GaiaStore
import Logging
import PythonSyntax

/// Deploys, updates and removals: validated, stored, their first instance proven.
extension FunctionRuntime {
    // MARK: Deploy

    /// Validates, analyzes and stores a new revision, starts one instance of it to prove it
    /// loads, then moves traffic to it and stops the previous revision's instances.
    @discardableResult
    public func deploy(_ request: DeployRequest) async throws -> FunctionManifest {
        try Self.validate(request, maxBytes: configuration.maxUploadBytes)
        do {
            try configuration.limits.check(
                minScale: request.minScale, maxScale: request.maxScale, concurrency: request.concurrency, maxBatch: request.maxBatch,
                timeoutSeconds: request.timeoutSeconds)
        } catch {
            throw PlatformError(error.code, error.description, status: error.code == "over_capacity" ? 422 : 400)
        }
        guard let (entry, handler) = FunctionSource.handler(among: request.files) else {
            throw PlatformError(
                "invalid_function",
                "no Python file defines a handler Gaia knows: upload handler.py defining `def handle(payload, context)`, or a handler written for one of:\n"
                    + HandlerConvention.known,
                status: 400)
        }
        var requirements: Requirements?
        if let bytes = request.files["requirements.txt"] {
            do { requirements = try Requirements(bytes) } catch { throw PlatformError("invalid_requirements", error.description, status: 400) }
            if requirements?.isEmpty == true { requirements = nil }
            if requirements != nil && configuration.cluster != nil {
                throw PlatformError(
                    "not_supported", "requirements.txt is not installed on the cluster yet: build the function's image with gaia kube render (its Dockerfile installs them)",
                    status: 501)
            }
        }
        let pyFiles = request.files.filter { $0.key.hasSuffix(".py") }
        let source = FunctionSource(files: pyFiles, entryPoint: entry, requirements: request.files["requirements.txt"], handler: handler)
        var manifest = ExecutionModeAnalyzer().analyze(source, name: request.name, override: request.mode)
        manifest.slo = request.slo
        manifest.minScale = request.minScale
        manifest.maxScale = request.maxScale
        manifest.concurrency = request.concurrency
        manifest.keepAlive = request.keepAlive?.description
        manifest.prewarm = request.prewarm
        manifest.rung = request.rung?.description
        manifest.timeoutSeconds = request.timeoutSeconds
        manifest.publicInvoke = request.publicInvoke == true ? true : nil
        let previousRevision = live[request.name]?.stored
        let environment = request.environment ?? previousRevision?.manifest.environment ?? [:]
        let secretValues = request.secrets ?? previousRevision.map { secrets.values($0.name, revision: $0.revision) } ?? [:]
        if let both = environment.keys.first(where: { secretValues[$0] != nil }) {
            throw PlatformError("invalid_environment", "\(both) is both an environment variable and a secret; give it once", status: 400)
        }
        if !secretValues.isEmpty && configuration.cluster != nil {
            throw PlatformError(
                "not_supported", "secrets are not passed to the cluster yet: put them in a Kubernetes Secret in the namespace and deploy without --secret",
                status: 501)
        }
        manifest.environment = environment.isEmpty ? nil : environment
        manifest.secrets = secretValues.isEmpty ? nil : secretValues.keys.sorted()
        if let rung = request.rung, !configuration.ladder.offers(rung) {
            let here = configuration.cluster == nil ? "this machine" : "the cluster"
            throw PlatformError(
                "invalid_rung", "\(here) has no rung \(rung) (nor \(rung.wholeTime) to take a time quota of); its ladder is \(configuration.ladder.rungs.map(\.description).joined(separator: ", "))",
                status: 400)
        }
        if manifest.partial {
            throw PlatformError("syntax_error", "the function has syntax errors:\n" + manifest.diagnostics.joined(separator: "\n"), status: 400)
        }
        guard let handler else {
            throw PlatformError(
                "invalid_function",
                "\(entry) defines no handler Gaia knows. Define `def handle(payload, context)`, or deploy a handler written for one of:\n"
                    + HandlerConvention.known,
                status: 400)
        }
        if handler.batches { manifest.maxBatch = request.maxBatch ?? handler.maxBatch ?? 8 }
        // One rule for a detected and a requested `gpu` mode: where there is no GPU, it is refused.
        if manifest.mode == .gpu && !configuration.hasGPU {
            let here = configuration.cluster == nil ? "This machine" : "The cluster"
            let why = manifest.modeOverride == nil ? manifest.rationale : "The mode gpu was asked for (--mode gpu): it runs only on a GPU."
            throw PlatformError(
                "no_gpu", "\(why)\n\(here) has no GPU; deploy with --mode cpu_preferred (or another mode) to run it on CPU.", status: 422)
        }

        guard !closed else { throw PlatformError("shutting_down", "the platform is shutting down", status: 503) }
        guard deploying.insert(request.name).inserted else {
            throw PlatformError("conflict", "a deploy of '\(request.name)' is already in progress; retry when it finishes", status: 409)
        }
        defer {
            deploying.remove(request.name)
            cancelledDeploys.remove(request.name)
        }
        let previous = live[request.name]
        let revision = try database.nextRevision(of: request.name)
        let directory = "\(configuration.dataDirectory)/functions/\(request.name)/r\(revision)"
        try? FileManager.default.removeItem(atPath: directory)
        /// Nothing is left of a refused deploy: its files and its secrets go.
        func discard() {
            try? FileManager.default.removeItem(atPath: directory)
            secrets.remove(request.name, revision: revision)
            if previous == nil, sandboxUIDs.removeValue(forKey: request.name) != nil {
                try? FileManager.default.removeItem(atPath: home(of: request.name))  // a first deploy leaves no home
            }
        }
        do {
            try secrets.write(secretValues, request.name, revision: revision)
            for (path, bytes) in request.files {
                let target = "\(directory)/\(path)"
                try FileManager.default.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: target, contents: Data(bytes)) else {
                    throw PlatformError("storage", "cannot write \(path) of the function", status: 500)
                }
            }
        } catch {
            discard()
            throw error
        }
        if let requirements {
            do {
                let environment = try await environments.prepare(requirements, progress: request.progress ?? { _ in })
                manifest.pythonEnvironment = environment.key
            } catch {
                discard()
                throw error
            }
        }
        if cancelledDeploys.contains(request.name) {
            discard()
            throw Self.deployCancelled(request.name)
        }
        // The environment is held until this deploy ends; then the function (if it deployed) holds it.
        defer { if let key = manifest.pythonEnvironment { Task { await environments.release(key) } } }
        let stored = StoredFunction(name: request.name, revision: revision, sourceDirectory: directory, manifest: manifest, deployedAt: Date())
        if let cluster = configuration.cluster {
            do {
                try await cluster.publish(stored, files: request.files)
            } catch {
                discard()
                throw error as? PlatformError ?? PlatformError("cluster", "the cluster refused the function: \(error)", status: 502)
            }
        }
        await zygote(for: manifest)?.want(manifest.frameworks)
        do {
            try prepareSandbox(for: request.name)
        } catch {
            discard()
            throw PlatformError("sandbox", "the function's sandbox could not be prepared: \(error)", status: 500)
        }
        request.progress?("starting an instance to prove the function loads")
        let next = makeLive(stored)
        starting[request.name] = next.pool
        defer { starting.removeValue(forKey: request.name) }
        do {
            try await startFirstInstance(of: request.name, next.pool, progress: request.progress)
            if cancelledDeploys.contains(request.name) { throw Self.deployCancelled(request.name) }
        } catch {
            await next.pool.shutdown()
            discard()
            if closed {  // the platform began to shut down while the instance started
                throw PlatformError("shutting_down", "the platform is shutting down; deploy again once it is back", status: 503)
            }
            if cancelledDeploys.contains(request.name) { throw Self.deployCancelled(request.name) }
            guard let error = error as? WorkerError else { throw error }
            if case .initFailed(let message, let traceback) = error {
                throw PlatformError("init_failed", SecretStore.redact("the function failed to load: \(message)\n\(traceback)", secretValues), status: 400)
            }
            throw PlatformError("init_failed", SecretStore.redact(error.description, secretValues), status: 400)
        }
        guard !closed else {  // shut down while the instance started: nothing may outlive the runtime
            await next.pool.shutdown()
            throw PlatformError("shutting_down", "the platform is shutting down", status: 503)
        }
        try database.deploy(name: request.name, manifest: manifest, sourceDirectory: directory)
        secrets.keepOnly(request.name, revision: revision)
        live[request.name] = next
        if let previous { retire(previous.pool) }  // its requests in flight finish on it
        return manifest
    }

    /// A function's settings changed without new files: its serving revision's files and choices
    /// with `change` applied, deployed as a new revision (analysed, started and proven before
    /// traffic moves, as any deploy).
    @discardableResult
    public func update(_ name: String, _ change: SettingsChange) async throws -> FunctionManifest {
        let stored = try function(name)
        let m = stored.manifest
        var request = DeployRequest(
            name: name, files: try files(of: stored), mode: m.modeOverride, minScale: m.minScale, maxScale: m.maxScale, slo: m.slo,
            concurrency: m.concurrency, keepAlive: m.keepAlive.flatMap { try? KeepAliveSettings.Mode(parsing: $0) }, prewarm: m.prewarm,
            rung: m.rung.flatMap(Backend.init), maxBatch: m.maxBatch, environment: m.environment ?? [:])
        request.publicInvoke = m.publicInvoke
        request.timeoutSeconds = change.timeoutSeconds ?? m.timeoutSeconds
        switch change.slo {
        case .keep: break
        case .platformDefault: request.slo = nil
        case .set(let slo): request.slo = slo
        }
        switch change.mode {
        case .keep: break
        case .detected: request.mode = nil
        case .force(let mode): request.mode = mode
        }
        if let minScale = change.minScale { request.minScale = minScale }
        if let maxScale = change.maxScale { request.maxScale = maxScale }
        return try await deploy(request)
    }

    /// A function's serving revision's files, by relative path (what was uploaded; no `__pycache__`).
    public func files(of name: String) throws -> [String: [UInt8]] {
        try files(of: try function(name))
    }

    func files(of stored: StoredFunction) throws -> [String: [UInt8]] {
        let root = URL(fileURLWithPath: stored.sourceDirectory)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw PlatformError("storage", "cannot read \(stored.sourceDirectory)", status: 500)
        }
        var files: [String: [UInt8]] = [:]
        let prefix = root.resolvingSymlinksInPath().path + "/"
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let path = url.resolvingSymlinksInPath().path
            guard path.hasPrefix(prefix) else { continue }
            let relative = String(path.dropFirst(prefix.count))
            // Python's bytecode caches are the instances' writing, not the user's files.
            guard !relative.split(separator: "/").contains("__pycache__") else { continue }
            files[relative] = Array(try Data(contentsOf: url))
        }
        return files
    }

    /// A pool and a controller for a revision, with the function's own limits from its manifest,
    /// starting on its start rung (a pinned rung this machine lacks, a GPU gone since the deploy,
    /// falls back to the mode's ladder).
    /// `loaded`: an instance of it was just started (a deploy's), which the keep-alive keeps.
    func makeLive(_ stored: StoredFunction, loaded: Bool = true) -> Live {
        let inputs = policyInputs(stored.manifest)
        return Live(
            stored: stored, pool: makePool(stored, on: inputs.start), backend: inputs.start,
            controller: FunctionController(inputs, at: .now, loaded: loaded), usageCountedTo: .now)
    }

    /// What a function's controller is built from: this platform's settings and the manifest's choices.
    func policyInputs(_ manifest: FunctionManifest) -> FunctionPolicyInputs {
        var autoscaler = configuration.autoscaler
        if let maxScale = manifest.maxScale { autoscaler.maxScale = maxScale }
        if let minScale = manifest.minScale { autoscaler.minScale = minScale }
        var keepAlive = configuration.keepAlive
        if let text = manifest.keepAlive, let mode = try? KeepAliveSettings.Mode(parsing: text) { keepAlive.mode = mode }
        keepAlive.prewarm = manifest.prewarm ?? keepAlive.prewarm
        var inputs = FunctionPolicyInputs(
            ladder: configuration.ladder, mode: manifest.mode, pinned: manifest.rung.flatMap(Backend.init), slo: manifest.slo,
            work: manifest.estimatedWork,
            concurrency: max(manifest.concurrency ?? configuration.pool.instanceConcurrency, manifest.maxBatch ?? 1),
            autoscaler: autoscaler, keepAlive: keepAlive, controller: configuration.controller, prices: configuration.prices)
        inputs.gpuMemoryMiB = configuration.machine.gpus.map(\.memoryTotalMiB).min()
        inputs.instanceMiB = configuration.gpuMemoryPerInstanceMiB
        return inputs
    }

    /// An empty pool for a revision on a rung: the cluster's, or local instances pinned to cores of
    /// this machine.
    func makePool(_ stored: StoredFunction, on backend: Backend) -> any FunctionPool {
        var poolSettings = configuration.pool
        let inputs = policyInputs(stored.manifest)
        poolSettings.startsForQueue = FunctionController.poolStartsForQueue(
            on: backend, among: inputs.rungs, plansConfigurations: inputs.plansConfigurations)
        if let maxScale = stored.manifest.maxScale { poolSettings.maxScale = maxScale }
        if let concurrency = stored.manifest.concurrency { poolSettings.instanceConcurrency = concurrency }
        if let seconds = stored.manifest.timeoutSeconds { poolSettings.invocationTimeout = .clamped(seconds: seconds) }
        if let cluster = configuration.cluster { return cluster.pool(for: stored, on: backend, settings: poolSettings) }
        if let batch = stored.manifest.maxBatch, batch > 1 {
            // A batch is `batch` requests on one instance at once.
            poolSettings.instanceConcurrency = max(poolSettings.instanceConcurrency, batch)
            poolSettings.batching = BatchPolicy(maxBatch: batch, budgetMs: (stored.manifest.slo ?? .default).thresholdMs)
        }
        let perInstanceMiB = configuration.gpuMemoryPerInstanceMiB ?? stored.manifest.estimatedWork.gpuMemoryMiB
        if let fit = configuration.machine.gpuInstanceLimit(on: backend, perInstanceMiB: perInstanceMiB) {
            poolSettings.maxScale = min(poolSettings.maxScale, fit)
        }
        let python = stored.manifest.pythonEnvironment.map { environments.environment($0).python } ?? configuration.python
        let memoryLimit = configuration.memoryLimitMB
        let machine = configuration.machine
        let zygote = zygote(for: stored.manifest)
        let instanceConcurrency = poolSettings.instanceConcurrency
        let logs = "\(configuration.dataDirectory)/logs/\(stored.name)"
        let maxResponseBytes = configuration.maxResponseBytes
        try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        // The function's variables and secrets; the rung's own (cores, threads, device) win.
        // What other platforms' handlers read of their limits too: Lambda's remaining time, LitServe's batch size.
        var limits = ["GAIA_TIMEOUT_SECONDS": String(stored.manifest.timeoutSeconds ?? configuration.pool.invocationTimeout.seconds)]
        if let batch = stored.manifest.maxBatch { limits["GAIA_MAX_BATCH"] = String(batch) }
        let extra = (stored.manifest.environment ?? [:]).merging(secrets.values(stored.name, revision: stored.revision)) { $1 }
            .merging(limits) { _, limit in limit }
        let tag = UInt32.random(in: 0..<UInt32.max)  // pools of one revision on different rungs log apart
        // Confined whenever sandboxing is on: a uid the database could not give falls back to nobody's.
        let sandboxUID = sandboxUIDs[stored.name] ?? (sandboxing ? 65534 : nil)
        let sandbox = sandboxUID.map { uid in
            FunctionSandbox(
                uid: uid, gpuUID: machine.mps ? configuration.sandbox.firstUID - 1 : nil,
                hidden: [configuration.dataDirectory], home: home(of: stored.name),
                maxProcesses: configuration.sandbox.maxProcesses, cgroups: cgroups)
        }
        let gate = ShareGate(schedulers: schedulers, client: "\(stored.name)/r\(stored.revision)")
        return InstancePool(backend: backend, settings: poolSettings, shareGate: gate, slots: slots) { id, backend in
            var worker = WorkerConfiguration(
                python: python, functionDirectory: stored.sourceDirectory, entryPoint: stored.manifest.entryPoint,
                handler: stored.manifest.handler, functionName: stored.name, backend: backend,
                cpus: machine.cores(forInstance: id, on: backend),
                logPath: "\(logs)/r\(stored.revision)-\(String(tag, radix: 36))-i\(id).log",
                memoryLimitMB: backend.deviceClass == .cpu ? memoryLimit : 0,
                concurrency: instanceConcurrency, environment: machine.environment(for: backend).merging(extra) { rung, _ in rung },
                zygote: backend.deviceClass == .cpu ? zygote : nil)
            worker.maxResponseBytes = maxResponseBytes
            worker.sandbox = sandbox
            worker.convention = stored.manifest.handlerConvention
            return worker
        }
    }

    /// Starts a deploy's first instance; while the machine runs all it holds, waits for the control
    /// loop's fair share to make room (at most `roomWait`), then gives up with the reason.
    func startFirstInstance(of name: String, _ pool: any FunctionPool, progress: (@Sendable (String) -> Void)?) async throws {
        let started = ContinuousClock.now
        defer { waitingForRoom.remove(name) }
        while true {
            do {
                try await pool.scale(to: 1)
                return
            } catch PoolError.machineFull(let capacity) {
                guard ContinuousClock.now - started < Self.roomWait, !closed, !cancelledDeploys.contains(name) else {
                    throw PlatformError(
                        "machine_full",
                        "the machine runs the most instances it holds, \(capacity), and none came free within \(Self.roomWait); remove functions, lower their min scale, or raise max_instances",
                        status: 503)
                }
                if waitingForRoom.insert(name).inserted { progress?("the machine runs all the instances it holds; waiting for room") }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Longest a deploy waits for room on the machine for its first instance.
    static let roomWait = Duration.seconds(15)

    /// Why a deploy stopped: its function was removed meanwhile.
    static func deployCancelled(_ name: String) -> PlatformError {
        PlatformError("cancelled", "the deploy of '\(name)' was cancelled: the function was removed (gaia rm) while it deployed", status: 409)
    }

    /// Takes a function out of service (new requests get 404), lets its requests in flight finish,
    /// stops its instances and marks it deleted (its history stays). A deploy of it in progress is
    /// cancelled: the instance it is starting is stopped at once (an `init` that hangs included),
    /// and the deploy answers that it was cancelled.
    public func remove(_ name: String) async throws {
        let deployed = deploying.contains(name)
        if deployed {
            cancelledDeploys.insert(name)
            await starting[name]?.shutdown()  // the deploy may end meanwhile
        }
        guard let f = live.removeValue(forKey: name) else {
            if deployed { return }  // a first deploy: it removes what it wrote
            throw PlatformError("not_found", "no function named '\(name)'", status: 404)
        }
        draining[ObjectIdentifier(f.pool)] = f.pool  // a shutdown meanwhile stops it at once
        await f.pool.drain()
        drained(f.pool)
        try database.delete(name: name)
        secrets.remove(name)
        sandboxUIDs[name] = nil
        try? FileManager.default.removeItem(atPath: home(of: name))
        do {
            try await configuration.cluster?.remove(name)
        } catch {
            logger.warning("the function's cluster objects were not all removed", metadata: ["function.name": "\(name)", "error": "\(error)"])
        }
    }
}
