public import Foundation
import Yams

/// How to reach a Kubernetes API server: its address, the CA it is trusted by, and Gaia's
/// credentials (a bearer token, or a client certificate).
public struct KubeConfig: Sendable, Equatable {
    /// `https://HOST:PORT`.
    public var server: String
    /// The namespace Gaia's Services live in.
    public var namespace: String
    /// A bearer token (a service account's, or a user's).
    public var token: String?
    /// PEM of the CA the server's certificate is checked against (nil: the system's roots).
    public var caPEM: [UInt8]?
    /// PEM of a client certificate and its key.
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    /// Do not check the server's certificate (a kubeconfig's `insecure-skip-tls-verify`).
    public var insecureSkipTLSVerify = false

    /// A configuration.
    public init(
        server: String, namespace: String = "default", token: String? = nil, caPEM: [UInt8]? = nil, clientCertificatePEM: [UInt8]? = nil,
        clientKeyPEM: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.namespace = namespace
        self.token = token
        self.caPEM = caPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
    }

    /// Inside a pod: the service account's token, CA and namespace, and the API server from
    /// `KUBERNETES_SERVICE_HOST`/`_PORT`.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment, root: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            throw KubeError(status: 0, reason: "NotInCluster", message: "KUBERNETES_SERVICE_HOST/PORT are not set: not running in a pod; pass --kubeconfig")
        }
        func read(_ name: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: "\(root)/\(name)") else {
                throw KubeError(status: 0, reason: "NotInCluster", message: "cannot read \(root)/\(name): is a service account mounted?")
            }
            return Array(data)
        }
        let token = String(decoding: try read("token"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let namespace = (try? read("namespace")).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConfig(server: "https://\(hostPart):\(port)", namespace: namespace ?? "default", token: token, caPEM: try read("ca.crt"))
    }

    /// From a kubeconfig file: its current context (or `context`), with a token or a client
    /// certificate, inline (`*-data`, base64) or in files next to it.
    public static func load(kubeconfig path: String, context: String? = nil, namespace: String? = nil) throws -> KubeConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubeError(status: 0, reason: "BadKubeconfig", message: "cannot read the kubeconfig \(path)")
        }
        let file: KubeconfigFile
        do {
            file = try YAMLDecoder().decode(KubeconfigFile.self, from: data)
        } catch {
            throw KubeError(status: 0, reason: "BadKubeconfig", message: "\(path) is not a kubeconfig: \(error)")
        }
        func bad(_ message: String) -> KubeError { KubeError(status: 0, reason: "BadKubeconfig", message: "\(path): \(message)") }
        guard let contextName = context ?? file.currentContext else { throw bad("no current-context; pass a context") }
        guard let ctx = file.contexts.first(where: { $0.name == contextName })?.context else { throw bad("no context '\(contextName)'") }
        guard let cluster = file.clusters.first(where: { $0.name == ctx.cluster })?.cluster else { throw bad("no cluster '\(ctx.cluster)'") }
        let user = file.users.first(where: { $0.name == ctx.user })?.user ?? .init()
        let folder = (path as NSString).deletingLastPathComponent
        func bytes(inline: String?, file: String?, what: String) throws -> [UInt8]? {
            if let inline {
                guard let decoded = Data(base64Encoded: inline, options: .ignoreUnknownCharacters) else { throw bad("\(what) is not base64") }
                return Array(decoded)
            }
            guard let file else { return nil }
            let full = file.hasPrefix("/") ? file : "\(folder)/\(file)"
            guard let data = FileManager.default.contents(atPath: full) else { throw bad("cannot read \(what) \(full)") }
            return Array(data)
        }
        var token = user.token
        if token == nil, let tokenFile = try bytes(inline: nil, file: user.tokenFile, what: "tokenFile") {
            token = String(decoding: tokenFile, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return KubeConfig(
            server: cluster.server, namespace: namespace ?? ctx.namespace ?? "default", token: token,
            caPEM: try bytes(inline: cluster.certificateAuthorityData, file: cluster.certificateAuthority, what: "certificate-authority"),
            clientCertificatePEM: try bytes(inline: user.clientCertificateData, file: user.clientCertificate, what: "client-certificate"),
            clientKeyPEM: try bytes(inline: user.clientKeyData, file: user.clientKey, what: "client-key"),
            insecureSkipTLSVerify: cluster.insecureSkipTLSVerify ?? false)
    }
}

/// The parts of a kubeconfig file Gaia reads.
struct KubeconfigFile: Decodable {
    struct Named<T: Decodable>: Decodable {
        var name: String
        var value: T
        enum CodingKeys: String, CodingKey { case name, cluster, user, context }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            let key: CodingKeys = T.self == Cluster.self ? .cluster : T.self == User.self ? .user : .context
            value = try c.decode(T.self, forKey: key)
        }
    }
    struct Cluster: Decodable {
        var server: String
        var certificateAuthorityData: String?
        var certificateAuthority: String?
        var insecureSkipTLSVerify: Bool?
        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthorityData = "certificate-authority-data"
            case certificateAuthority = "certificate-authority"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }
    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificateData: String?
        var clientKeyData: String?
        var clientCertificate: String?
        var clientKey: String?
        enum CodingKeys: String, CodingKey {
            case token, tokenFile
            case clientCertificateData = "client-certificate-data"
            case clientKeyData = "client-key-data"
            case clientCertificate = "client-certificate"
            case clientKey = "client-key"
        }
        init() {}
    }
    struct Context: Decodable {
        var cluster: String
        var user: String
        var namespace: String?
    }

    var clusters: [Named<Cluster>]
    var users: [Named<User>]
    var contexts: [Named<Context>]
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }
}

extension KubeconfigFile.Named where T == KubeconfigFile.Cluster { var cluster: T { value } }
extension KubeconfigFile.Named where T == KubeconfigFile.User { var user: T { value } }
extension KubeconfigFile.Named where T == KubeconfigFile.Context { var context: T { value } }
