public import GaiaCore

/// The two kinds of Knative Service Gaia makes of one function: CPU pods on any node, GPU pods on
/// GPU nodes. The gateway routes to one at a time; a switch moves traffic between them.
public enum Variant: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case cpu, gpu
    public var description: String { rawValue }
}

/// Choices for rendering a function onto a cluster; the defaults suit a cluster installed as
/// `docs/CLUSTER.md` says.
public struct KubeRenderOptions: Sendable, Hashable {
    /// The namespace the Services go to.
    public var namespace = "default"
    /// The function's image (nil: `gaia/NAME:rREVISION`, built from the rendered Dockerfile).
    public var image: String?
    /// The GPU variant's image (nil: `image`).
    public var gpuImage: String?
    /// Mount the function's files from this ConfigMap at `/function` instead of baking them into
    /// the image: how `gaia serve --cluster` deploys onto Gaia's runtime images with no image build.
    public var code: CodeConfigMap?
    /// Cores of a CPU pod (a function pinned to `cpu-N` gets N).
    public var cpuCores = 1
    /// Host cores of a GPU pod.
    public var gpuHostCores = 2
    /// Memory of a pod, MiB (nil: 1 GiB, or the analyzer's estimate + 1 GiB when larger).
    public var memoryMiB: Int?
    /// The extended resource of a GPU (`nvidia.com/gpu`; a device plugin with MPS sharing may
    /// advertise `nvidia.com/gpu.shared`).
    public var gpuResource = "nvidia.com/gpu"
    /// Labels a GPU node carries (the NVIDIA GPU feature discovery's).
    public var gpuNodeSelector = ["nvidia.com/gpu.present": "true"]
    /// The taint GPU nodes carry, tolerated by GPU pods (nil: none).
    public var gpuTaint: String? = "nvidia.com/gpu"
    /// Percent of the GPU's SMs a GPU pod may use through MPS (nil: the whole GPU).
    public var smPercent: Int?
    /// Gaia's autoscaling settings, carried over into Knative's annotations.
    public var autoscaler = AutoscalerSettings()
    /// Gaia's keep-alive settings (a fixed keep-alive, or the adaptive policy's fallback, becomes
    /// the scale-to-zero retention).
    public var keepAlive = KeepAliveSettings()
    /// Longest a request may run, seconds.
    public var timeoutSeconds = 300
    /// The port the function's HTTP server listens on in its container.
    public var port = 8080

    /// The defaults.
    public init() {}
}

/// A function's files in a ConfigMap: key `fN` holds `paths[N]` (ConfigMap keys cannot hold `/`).
public struct CodeConfigMap: Sendable, Hashable {
    /// The ConfigMap's name.
    public var name: String
    /// The files' relative paths, in key order.
    public var paths: [String]

    /// A ConfigMap of these files (sorted, so that the same files give the same keys).
    public init(name: String, paths: [String]) {
        self.name = name
        self.paths = paths.sorted()
    }

    /// The key of the file at index `i`.
    public static func key(_ i: Int) -> String { "f\(i)" }

    /// Where the files appear in the container.
    public static let mountPath = "/function"
}

/// Why a manifest cannot be rendered.
public struct KubeRenderError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// A function's manifest → one Knative Service per variant its mode allows, and the Dockerfile of
/// its image. Pure: same manifest and options, same output.
public enum KnativeRenderer {
    /// The annotation and label prefix of Gaia's own keys.
    public static let prefix = "gaia.dev/"

    /// The variants a function may run on: its pinned rung's kind, or its mode's.
    public static func variants(of manifest: FunctionManifest) -> [Variant] {
        if let pinned = manifest.rung.flatMap(Backend.init) { return [pinned.deviceClass == .gpu ? .gpu : .cpu] }
        switch manifest.mode {
        case .cpu: return [.cpu]
        case .cpuPreferred, .gpuPreferred: return [.cpu, .gpu]
        case .gpu: return [.gpu]
        }
    }

    /// Where traffic goes first: the GPU for `gpu` and `gpu_preferred`, else the CPU.
    public static func startVariant(of manifest: FunctionManifest) -> Variant {
        let allowed = variants(of: manifest)
        let preferred: Variant = manifest.mode == .gpu || manifest.mode == .gpuPreferred ? .gpu : .cpu
        return allowed.contains(preferred) ? preferred : allowed[0]
    }

    /// The Service name of a variant (`matmul-cpu`).
    public static func serviceName(_ function: String, _ variant: Variant) -> String { "\(function)-\(variant)" }

    /// One Service per variant, the start variant first.
    public static func services(
        for manifest: FunctionManifest, revision: Int = 1, options: KubeRenderOptions = KubeRenderOptions()
    ) throws -> [KnativeService] {
        // Knative names each revision `SERVICE-00001`; with `-gpu` that is 63 characters at most.
        guard manifest.name.count <= 53 else {
            throw KubeRenderError(description: "'\(manifest.name)' is \(manifest.name.count) characters; on a cluster a function's name may have at most 53 (its Services are NAME-cpu and NAME-gpu, their revisions NAME-gpu-00001)")
        }
        guard options.cpuCores >= 1, options.gpuHostCores >= 1, (options.memoryMiB ?? 64) >= 64, options.timeoutSeconds >= 1,
            (1...65535).contains(options.port), options.smPercent.map({ (1...100).contains($0) }) ?? true
        else {
            throw KubeRenderError(description: "bad options: cores ≥ 1, memory ≥ 64 MiB, timeout ≥ 1 s, port 1…65535, SM percent 1…100")
        }
        let start = startVariant(of: manifest)
        let ordered = [start] + variants(of: manifest).filter { $0 != start }
        return ordered.map { service(manifest, variant: $0, serving: $0 == start, revision: revision, options: options) }
    }

    static func service(_ m: FunctionManifest, variant: Variant, serving: Bool, revision: Int, options o: KubeRenderOptions) -> KnativeService {
        let p = prefix
        let slo = m.slo ?? .default
        var annotations = [
            "\(p)mode": m.mode.rawValue,
            "\(p)detected-mode": m.detectedMode.rawValue,
            "\(p)confidence": format2(m.confidence),
            "\(p)rationale": m.rationale,
            "\(p)slo": slo.description,
            "\(p)evidence": evidenceSummary(m.evidence),
            "\(p)revision": String(revision),
            "\(p)analyzer": m.analyzerVersion,
        ]
        if let forced = m.modeOverride { annotations["\(p)mode-override"] = forced.rawValue }
        let labels = [
            "app.kubernetes.io/name": m.name,
            "app.kubernetes.io/managed-by": "gaia",
            "\(p)function": m.name,
            "\(p)variant": variant.rawValue,
            // Reached through Gaia's gateway only, never from outside the cluster.
            "networking.knative.dev/visibility": "cluster-local",
        ]
        let concurrency = max(1, m.concurrency ?? 1, m.maxBatch ?? 1)
        let pinnedCores: Int? = {
            if case .cpu(let cores, _)? = m.rung.flatMap(Backend.init) { return cores }
            return nil
        }()
        let cores = variant == .gpu ? o.gpuHostCores : (pinnedCores ?? o.cpuCores)
        let memory = o.memoryMiB ?? max(1024, 1024 + m.estimatedWork.gpuMemoryMiB)
        let minScale = serving ? max(0, m.minScale ?? o.autoscaler.minScale) : 0
        let maxScale = max(1, m.maxScale ?? o.autoscaler.maxScale)
        let retention: Duration = if case .fixed(let seconds) = o.keepAlive.mode { .seconds(seconds) } else { o.keepAlive.fallback }
        var template = [
            "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
            "autoscaling.knative.dev/metric": "concurrency",
            "autoscaling.knative.dev/target": format2(max(0.01, o.autoscaler.targetConcurrency * Double(concurrency))),
            "autoscaling.knative.dev/min-scale": String(minScale),
            "autoscaling.knative.dev/max-scale": String(maxScale),
            "autoscaling.knative.dev/window": "\(Int(min(3600, max(6, o.autoscaler.stableWindow.inSeconds.rounded()))))s",
            "autoscaling.knative.dev/scale-to-zero-pod-retention-period": "\(Int(min(86_400, max(0, retention.inSeconds.rounded()))))s",
            "\(p)variant": variant.rawValue,
            "\(p)revision": String(revision),
        ]
        var env = [
            KnativeService.EnvVar(name: "GAIA_FUNCTION_NAME", value: m.name),
            .init(name: "GAIA_HTTP_PORT", value: String(o.port)),
            .init(name: "GAIA_CONCURRENCY", value: String(concurrency)),
            .init(name: "OMP_NUM_THREADS", value: String(cores)),
            .init(name: "OPENBLAS_NUM_THREADS", value: String(cores)),
            .init(name: "MKL_NUM_THREADS", value: String(cores)),
        ]
        env += (m.environment ?? [:]).sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) }
        var requests = ["cpu": String(cores), "memory": "\(memory)Mi"]
        var limits = requests
        var nodeSelector: [String: String]?
        var tolerations: [KnativeService.Toleration]?
        switch variant {
        case .cpu:
            env += [.init(name: "GAIA_BACKEND", value: "cpu-\(cores)"), .init(name: "GAIA_DEVICE", value: "cpu")]
        case .gpu:
            let sm = o.smPercent ?? 100
            env += [.init(name: "GAIA_BACKEND", value: sm >= 100 ? "gpu0" : "gpu0-\(sm)"), .init(name: "GAIA_DEVICE", value: "cuda:0")]
            if sm < 100 {
                env.append(.init(name: "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", value: String(sm)))
                template["\(p)sm-percent"] = String(sm)
            }
            requests[o.gpuResource] = "1"
            limits[o.gpuResource] = "1"
            nodeSelector = o.gpuNodeSelector.isEmpty ? nil : o.gpuNodeSelector
            tolerations = o.gpuTaint.map { [.init(key: $0, operator: "Exists", effect: "NoSchedule")] }
        }
        var volumes: [KnativeService.Volume]?
        var mounts: [KnativeService.VolumeMount]?
        if let code = o.code {
            volumes = [.init(name: "function", configMap: .init(
                name: code.name, items: code.paths.enumerated().map { .init(key: CodeConfigMap.key($0.offset), path: $0.element) }))]
            mounts = [.init(name: "function", mountPath: CodeConfigMap.mountPath, readOnly: true)]
            env += [
                .init(name: "GAIA_FUNCTION_DIR", value: CodeConfigMap.mountPath), .init(name: "GAIA_ENTRY_POINT", value: m.entryPoint),
                .init(name: "GAIA_HANDLER", value: m.handler), .init(name: "GAIA_CONVENTION", value: m.handlerConvention.rawValue),
            ]
        }
        let image = (variant == .gpu ? o.gpuImage : nil) ?? o.image ?? "gaia/\(m.name):r\(revision)"
        let container = KnativeService.Container(
            name: "function", image: image, ports: [.init(containerPort: o.port, name: "http1")],
            env: env, resources: .init(requests: requests, limits: limits),
            readinessProbe: .init(httpGet: .init(path: "/healthz", port: o.port), periodSeconds: 1), volumeMounts: mounts)
        return KnativeService(
            metadata: .init(name: serviceName(m.name, variant), namespace: o.namespace, labels: labels, annotations: annotations),
            spec: .init(template: .init(
                metadata: .init(labels: ["\(p)function": m.name, "\(p)variant": variant.rawValue], annotations: template),
                spec: .init(
                    containerConcurrency: concurrency, timeoutSeconds: o.timeoutSeconds, containers: [container], nodeSelector: nodeSelector,
                    tolerations: tolerations, volumes: volumes))))
    }

    /// `handler.py:26 cpu_compute; …`: the evidence in one line (at most 10 facts).
    static func evidenceSummary(_ evidence: [Evidence]) -> String {
        guard !evidence.isEmpty else { return "none" }
        let facts = evidence.prefix(10).map { "\($0.location) \($0.kind.rawValue)" }
        return facts.joined(separator: "; ") + (evidence.count > 10 ? "; and \(evidence.count - 10) more" : "")
    }

    /// A number with at most two decimals, as Knative's annotations take it.
    static func format2(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
