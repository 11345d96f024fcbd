import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GaiaAnalyzer
import GaiaCore
import GaiaKube
import GaiaRuntime
import GaiaServer
import GaiaStore
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// `gaia serve`: the embedded platform: HTTP API, worker pools, control loop, SQLite store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Gaia platform on this machine (HTTP API on --host:--port).",
        discussion: "Stops gracefully on SIGINT or SIGTERM: refuses deploys, stops accepting, lets requests in flight finish for up to --shutdown-grace seconds, then stops every worker."
    )

    @Option(help: "A YAML configuration file (see gaia.example.yaml); flags and GAIA_* variables override it.")
    var config: String?
    @Option(help: "Address to listen on (default 127.0.0.1; GAIA_HOST).") var host: String?
    @Option(help: "Port to listen on (default 8080; GAIA_PORT).") var port: Int?
    @Flag(help: "Serve the API without tokens (loopback only; 'auth: false' in gaia.yaml).") var noAuth = false
    @Flag(help: "Run instances as the server's user, unconfined ('sandbox: false' in gaia.yaml). As root, instances otherwise get their own uid, mount namespace and cgroups (docs/SECURITY.md).")
    var noSandbox = false
    @Option(help: "Where the database, functions' files and instance logs live (default .gaia; GAIA_DATA_DIR).") var dataDir: String?
    @Option(help: "The Python interpreter workers run, resolved once to the real executable (default python3; GAIA_PYTHON).")
    var python: String?
    @Option(help: "Deploy every function folder of this directory at start, beside serving (e.g. examples); each is logged as deployed or not, with the reason.")
    var examples: String?
    @Option(help: "Seconds between control-loop ticks (autoscaling; default 1).") var tick: Double?
    @Option(help: "Seconds SIGTERM lets requests in flight finish before the rest are cut and instances stop (default 30).")
    var shutdownGrace: Double?
    @Option(help: "Seconds a connection may stay silent before it is closed, also in the middle of a request (default 30).")
    var idleTimeout: Double?
    @Option(help: "Most connections open at once (default 1024).") var maxConnections: Int?
    @Option(help: "Seconds a deploy's pip install of its requirements.txt may take before it is stopped and the deploy refused (default 600).")
    var installTimeout: Double?
    @Option(help: "Host cores each GPU instance is pinned to, for its framework's CPU side (default 2).") var gpuHostCores: Int?
    @Option(help: "GPU memory one instance is given room for, in MiB; bounds instances per GPU (default: estimated from the model).")
    var gpuMemoryPerInstance: Int?
    @Option(help: "SM shares of a GPU the ladder offers, percent, comma-separated (default 25,50,100; 'none': whole GPUs only).")
    var gpuSmShares: String?
    @Option(help: "Time quotas of a GPU share, percent, comma-separated (default 10,20,…,100).") var gpuQuotas: String?
    @Option(help: "Window the quota scheduler measures time quotas over, ms (default 1000).") var shareWindowMs: Int?
    @Option(help: ArgumentHelp(
        "Add N CPU stand-ins for GPUs: GPU rungs whose instances start the GPU way but run on the CPU. For trying the GPU path on a machine without one; never for real work.",
        visibility: .hidden))
    var gpuStandIns: Int?
    @OptionGroup(title: "Cluster (Knative on Kubernetes; docs/CLUSTER.md)") var cluster: ClusterOptions

    /// A comma-separated list of whole numbers (`none` or nothing: an empty list); their range is
    /// checked with the file's by `ServerSettings.applyShares`.
    static func percents(_ text: String, flag: String) throws -> [Int] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "none" { return [] }
        return try trimmed.split(separator: ",").map { part in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw CLIError(description: "\(flag): '\(part)' is not a percentage 1…100")
            }
            return n
        }
    }

    /// Defaults, then the file, then the environment, then the flags.
    func settings() throws -> ServerSettings {
        var settings = ServerSettings()
        do {
            if let config {
                guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                    throw CLIError(description: "cannot read the configuration file '\(config)'")
                }
                try settings.apply(yaml: text, source: config)
            }
            try settings.apply(environment: ProcessInfo.processInfo.environment)
        } catch let error as ConfigurationError {
            throw CLIError(description: error.description)
        }
        settings.host = host ?? settings.host
        settings.port = port ?? settings.port
        if noAuth { settings.auth = false }
        if noSandbox { settings.runtime.sandbox.enabled = false }
        settings.dataDirectory = dataDir ?? settings.dataDirectory
        settings.python = python ?? settings.python
        settings.tickSeconds = tick ?? settings.tickSeconds
        do {
            if let shutdownGrace { try settings.setShutdownGrace(shutdownGrace, source: "--shutdown-grace") }
            if let installTimeout { try settings.setInstallTimeout(installTimeout, source: "--install-timeout") }
            try settings.setConnections(idleTimeoutSeconds: idleTimeout, maxConnections: maxConnections, source: "flags")
            try settings.applyGPU(hostCores: gpuHostCores, memoryPerInstanceMiB: gpuMemoryPerInstance, standIns: gpuStandIns, source: "flags")
            try settings.applyShares(
                smPercents: try gpuSmShares.map { try Self.percents($0, flag: "--gpu-sm-shares") },
                quotaPercents: try gpuQuotas.map { try Self.percents($0, flag: "--gpu-quotas") }, windowMs: shareWindowMs, source: "flags")
        } catch let error as ConfigurationError {
            throw CLIError(description: error.description)
        }
        return settings
    }

    /// Why `host:port` cannot be listened on now (nil: it can, or the server's own bind will say):
    /// a trial bind, with the address reuse the server's own socket sets.
    static func portProblem(host: String, port: Int) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let info = found else { return nil }
        defer { freeaddrinfo(found) }
        let socket = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard socket >= 0 else { return nil }
        defer { close(socket) }
        var one: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(socket, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 else { return nil }
        let reason = errno
        if reason == EADDRINUSE { return "port \(port) on \(host) is already in use (another gaia serve?); stop that one or pass --port" }
        if reason == EACCES { return "port \(port) needs privileges here; pass --port with a port above 1023" }
        return "cannot listen on \(host):\(port): \(String(cString: strerror(reason)))"
    }

    func run() async throws {
        var logger = Logger(label: "gaia")
        logger.logLevel = .info
        let settings = try settings()
        var interpreter = settings.python
        if !cluster.cluster {  // on a cluster Python runs in the pods only
            do {
                interpreter = try PythonInterpreter.resolve(settings.python)
            } catch {
                throw CLIError(description: "\(error)")
            }
        }
        let dataDir = settings.dataDirectory
        let host = settings.host
        let port = settings.port
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host) || host.hasPrefix("127.")
        guard settings.auth || loopback else {
            throw CLIError(description: "refusing to serve without authentication on \(host): anyone reaching it could run code here; drop --no-auth (or auth: false), or listen on 127.0.0.1")
        }
        // Before anything starts: a port already in use would fail only once the server binds,
        // after "gaia serving" and after the stored functions' instances had started.
        if let problem = Self.portProblem(host: host, port: port) { throw CLIError(description: problem) }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let dataDirectory = URL(fileURLWithPath: dataDir).standardizedFileURL.path
        let database = try GaiaDatabase(path: dataDirectory + "/gaia.sqlite")
        var runtimeConfiguration = settings.runtime
        runtimeConfiguration.dataDirectory = dataDirectory
        runtimeConfiguration.python = interpreter
        if cluster.cluster {
            let backend = try cluster.backend(runtime: runtimeConfiguration, logger: logger)
            runtimeConfiguration.cluster = backend
            runtimeConfiguration.forkServer = false
            logger.info("functions run on the cluster", metadata: ["cluster": "\(backend.summary)"])
        }
        let runtime = FunctionRuntime(configuration: runtimeConfiguration, database: database)
        try await runtime.restore()
        // Examples deploy beside the server, not before it: it answers at once, and each example
        // is served as soon as its first instance is up (a GPU model can take tens of seconds).
        let directory = examples ?? ""
        let folders = try examples.map { try FileManager.default.contentsOfDirectory(atPath: $0).sorted() } ?? []
        // Each folder's files as `gaia deploy FOLDER` uploads them (data files beside the code included).
        let sources = folders.compactMap { folder -> (String, [String: [UInt8]])? in
            let path = directory + "/" + folder
            guard let source = try? FunctionSource.load(path: path), let files = try? DeployCommand.files(of: source, path: path) else { return nil }
            return (folder, files)
        }
        await runtime.deploysAtStart(sources.map(\.0))  // /readyz answers once each is deployed or refused
        let deployExamples = Task { [logger] in
            for (folder, files) in sources {
                do {
                    let manifest = try await runtime.deploy(DeployRequest(name: folder, files: files))
                    logger.info("deployed example", metadata: ["function.name": "\(folder)", "mode": "\(manifest.mode)"])
                } catch let error as PlatformError where error.code == "shutting_down" {
                    return
                } catch {
                    // One line in the server's log; `gaia deploy` of the same folder shows the traceback.
                    let reason = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
                    logger.warning("example not deployed", metadata: ["function.name": "\(folder)", "reason": "\(reason)"])
                }
                await runtime.deployAtStartEnded(folder)
            }
        }
        defer { deployExamples.cancel() }
        var tokens: Tokens?
        if settings.auth {
            let store = try Tokens(database: database)
            let file = dataDirectory + "/admin.token"
            if try store.ensureAdmin(file: file).created {
                logger.info("made an admin token; the CLI in this folder reads it, others take GAIA_TOKEN", metadata: ["token.file": "\(file)"])
            }
            tokens = store
        }
        let app = Application(
            router: GaiaServer.router(runtime: runtime, maxBodyBytes: runtime.configuration.maxUploadBytes, tokens: tokens),
            // A request's head must come whole within the idle timeout too (a byte at a time resets only the idle timer).
            server: .http1(configuration: .init(
                additionalChannelHandlers: [RequestHeadTimeout(timeout: .nanoseconds(Int64(settings.idleTimeoutSeconds * 1e9)))],
                idleTimeout: .nanoseconds(Int64(settings.idleTimeoutSeconds * 1e9)))),
            configuration: .init(
                address: .hostname(host, port: port), serverName: "gaia",
                availableConnectionsDelegate: .maximum(settings.maxConnections, logger: logger)),
            logger: logger)
        // Shut down in reverse order: the notice first (deploys still starting stop at once), the
        // HTTP server next (it stops accepting and lets the requests in flight finish, for at most
        // the grace period, after which the rest are cancelled), then the control loop, which
        // stops every instance.
        var group = ServiceGroupConfiguration(
            services: [
                .init(service: ControlLoop(runtime: runtime, interval: .clamped(seconds: max(0.01, settings.tickSeconds)))),
                .init(service: app), .init(service: ShutdownNotice(runtime: runtime), successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .clamped(seconds: settings.shutdownGraceSeconds)
        if !loopback {
            logger.warning(
                "listening beyond this machine: every route but /healthz needs a token, but functions are not sandboxed (docs/SECURITY.md)",
                metadata: ["host": "\(host)"])
        }
        let machine = runtimeConfiguration.machine
        if let problem = machine.gpuProblem { logger.warning("no GPU used", metadata: ["reason": "\(problem)"]) }
        if machine.gpus.contains(where: \.standIn) {
            logger.warning("GPU rungs include CPU stand-ins (--gpu-stand-ins): their instances run on the CPU")
        }
        logger.info("gaia serving", metadata: [
            "address": "http://\(host):\(port)", "data.dir": "\(dataDirectory)", "python": "\(interpreter)",
            "ladder": "\(runtimeConfiguration.ladder.rungs.map(\.description).joined(separator: ","))",
            "sandbox": "\(cluster.cluster ? "pods" : runtimeConfiguration.sandbox.active ? "own uid, mount namespace, cgroups" : runtimeConfiguration.sandbox.enabled ? "off (\(SandboxSettings.unavailable(firstUID: runtimeConfiguration.sandbox.firstUID) ?? ""))" : "off")",
        ])
        try await ServiceGroup(configuration: group).run()
    }
}

/// `gaia serve --cluster` and its options.
struct ClusterOptions: ParsableArguments {
    @Flag(help: "Run functions on Knative Serving instead of this machine; the API, store, controller and dashboard stay here.")
    var cluster = false
    @Option(help: "The kubeconfig for --cluster (default: the pod's service account inside a cluster, else $KUBECONFIG or ~/.kube/config).")
    var kubeconfig: String?
    @Option(help: "The kubeconfig context (default: its current one).") var context: String?
    @Option(help: "The namespace functions go to (default: the context's, or default).") var namespace: String?
    @Option(help: "Runtime image of CPU pods (gaia kube runtime-image).") var cpuImage = "gaia/runtime:cpu"
    @Option(help: "Runtime image of GPU pods.") var gpuImage = "gaia/runtime:gpu"
    @Option(help: "Cores of a CPU pod: the cluster's CPU rung.") var podCores = 1
    @Option(help: "Host cores of a GPU pod.") var gpuPodCores = 2
    @Option(help: "The GPU's extended resource name.") var gpuResource = "nvidia.com/gpu"
    @Flag(help: "The cluster has no GPU nodes: the ladder is the CPU variant alone.") var noClusterGpu = false

    /// Where the credentials come from: --kubeconfig, in a pod its service account, else $KUBECONFIG or ~/.kube/config.
    func config() throws -> KubeConfig {
        let environment = ProcessInfo.processInfo.environment
        do {
            if kubeconfig == nil, environment["KUBERNETES_SERVICE_HOST"] != nil {
                var config = try KubeConfig.inCluster()
                if let namespace { config.namespace = namespace }
                return config
            }
            let path = kubeconfig ?? environment["KUBECONFIG"]?.split(separator: ":").first.map(String.init)
                ?? (NSHomeDirectory() + "/.kube/config")
            return try KubeConfig.load(kubeconfig: path, context: context, namespace: namespace)
        } catch let error as KubeError {
            throw CLIError(description: "--cluster: \(error)")
        }
    }

    /// The cluster backend, its Services carrying the platform's autoscaling and keep-alive settings.
    func backend(runtime: RuntimeConfiguration, logger: Logger) throws -> KnativeCluster {
        guard podCores >= 1, gpuPodCores >= 1 else { throw CLIError(description: "--pod-cores and --gpu-pod-cores must be at least 1") }
        var options = KubeRenderOptions()
        options.image = cpuImage
        options.gpuImage = gpuImage
        options.cpuCores = podCores
        options.gpuHostCores = gpuPodCores
        options.gpuResource = gpuResource
        options.autoscaler = runtime.autoscaler
        options.keepAlive = runtime.keepAlive
        options.timeoutSeconds = max(1, Int(runtime.pool.invocationTimeout.inSeconds.rounded(.up)))
        let client: KubeClient
        do {
            client = try KubeClient(config: try config())
        } catch let error as KubeError {
            throw CLIError(description: "--cluster: \(error)")
        }
        return KnativeCluster(client: client, options: options, gpu: !noClusterGpu, maxResponseBytes: runtime.maxResponseBytes, logger: logger)
    }
}
