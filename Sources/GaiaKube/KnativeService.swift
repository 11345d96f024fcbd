/// The part of Knative Serving's `serving.knative.dev/v1` Service that Gaia writes, as typed
/// values (field names as in the Kubernetes API; absent optionals are not encoded).
public struct KnativeService: Codable, Sendable, Hashable {
    public var apiVersion = "serving.knative.dev/v1"
    public var kind = "Service"
    public var metadata: ObjectMeta
    public var spec: Spec

    /// A Service.
    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }

    /// Name, namespace, labels and annotations.
    public struct ObjectMeta: Codable, Sendable, Hashable {
        public var name: String?
        public var namespace: String?
        public var labels: [String: String]?
        public var annotations: [String: String]?

        /// Metadata.
        public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil) {
            self.name = name
            self.namespace = namespace
            self.labels = labels
            self.annotations = annotations
        }
    }

    /// The Service's desired state: the revision template (traffic goes to its latest revision).
    public struct Spec: Codable, Sendable, Hashable {
        public var template: RevisionTemplate
    }

    /// What each revision is made of.
    public struct RevisionTemplate: Codable, Sendable, Hashable {
        public var metadata: ObjectMeta
        public var spec: RevisionSpec
    }

    /// A revision's pod: one container, its concurrency limit and timeout, where it may run.
    public struct RevisionSpec: Codable, Sendable, Hashable {
        public var containerConcurrency: Int
        public var timeoutSeconds: Int
        public var containers: [Container]
        /// Needs Knative's `kubernetes.podspec-nodeselector` feature flag.
        public var nodeSelector: [String: String]?
        /// Needs Knative's `kubernetes.podspec-tolerations` feature flag.
        public var tolerations: [Toleration]?
        /// The function's files, when they come from a ConfigMap rather than the image.
        public var volumes: [Volume]?
    }

    /// A ConfigMap volume: its keys projected to paths.
    public struct Volume: Codable, Sendable, Hashable {
        public struct ConfigMapSource: Codable, Sendable, Hashable {
            public struct Item: Codable, Sendable, Hashable {
                public var key: String
                public var path: String
            }
            public var name: String
            public var items: [Item]
        }
        public var name: String
        public var configMap: ConfigMapSource
    }

    /// Where a volume appears in the container.
    public struct VolumeMount: Codable, Sendable, Hashable {
        public var name: String
        public var mountPath: String
        public var readOnly: Bool
    }

    /// The function's container.
    public struct Container: Codable, Sendable, Hashable {
        public var name: String
        public var image: String
        public var ports: [Port]
        public var env: [EnvVar]
        public var resources: Resources
        public var readinessProbe: Probe
        public var volumeMounts: [VolumeMount]?
    }

    /// The port Knative's queue proxy forwards to.
    public struct Port: Codable, Sendable, Hashable {
        public var containerPort: Int
        public var name: String
    }

    /// One environment variable.
    public struct EnvVar: Codable, Sendable, Hashable {
        public var name: String
        public var value: String
    }

    /// Requests and limits (`cpu`, `memory`, `nvidia.com/gpu`), as Kubernetes quantities.
    public struct Resources: Codable, Sendable, Hashable {
        public var requests: [String: String]
        public var limits: [String: String]
    }

    /// An HTTP GET readiness probe.
    public struct Probe: Codable, Sendable, Hashable {
        public struct HTTPGet: Codable, Sendable, Hashable {
            public var path: String
            public var port: Int
        }
        public var httpGet: HTTPGet
        public var periodSeconds: Int
    }

    /// A toleration of a node taint.
    public struct Toleration: Codable, Sendable, Hashable {
        public var key: String
        public var `operator`: String
        public var effect: String
    }
}
