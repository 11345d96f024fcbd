import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// A refusal or failure of the Kubernetes API, with its `Status` reason and message.
public struct KubeError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The HTTP status (0: never reached the server, or no answer in time).
    public var status: Int
    /// The `Status` reason (`Unauthorized`, `Forbidden`, `NotFound`, `Conflict`, `Invalid`, `Timeout`…).
    public var reason: String
    /// What the server (or Gaia) said.
    public var message: String

    public init(status: Int, reason: String, message: String) {
        self.status = status
        self.reason = reason
        self.message = message
    }

    public var description: String {
        let hint: String
        switch status {
        case 401: hint = " (the token or client certificate was not accepted: check the kubeconfig or the service account)"
        case 403: hint = " (Gaia's identity lacks a permission: apply the Role in docs/CLUSTER.md)"
        case 404: hint = " (is Knative Serving installed, and the namespace right?)"
        case 422: hint = " (the object was refused as invalid)"
        default: hint = ""
        }
        return "Kubernetes API: \(status == 0 ? "" : "HTTP \(status) ")\(reason): \(message)\(hint)"
    }

    /// Worth another try: a conflict, throttling, a server error or no answer in time.
    var retryable: Bool { status == 409 || status == 429 || status >= 500 || (status == 0 && reason == "Timeout") }
}

/// What Gaia reads of a Knative Service or Revision: its version and readiness.
public struct KnativeObject: Decodable, Sendable, Equatable {
    public struct Metadata: Decodable, Sendable, Equatable {
        public var name: String
        public var resourceVersion: String?
        public var generation: Int?
        public var annotations: [String: String]?
        public var labels: [String: String]?
    }
    public struct Condition: Decodable, Sendable, Equatable {
        public var type: String
        public var status: String
        public var reason: String?
        public var message: String?
    }
    public struct Status: Decodable, Sendable, Equatable {
        public var observedGeneration: Int?
        public var conditions: [Condition]?
        public var latestReadyRevisionName: String?
        public var latestCreatedRevisionName: String?
        public var url: String?
        public var actualReplicas: Int?
        public var desiredReplicas: Int?
    }
    public var metadata: Metadata
    public var status: Status?

    /// Its `Ready` condition is `True`.
    public var isReady: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
    /// Its `Ready` condition is `False`: it failed (a container that exits, an image that cannot be pulled), not merely still starting.
    public var hasFailed: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.status == "False" } ?? false }
    /// Why it is not ready, from its `Ready` condition.
    public var notReadyReason: String? {
        guard let ready = status?.conditions?.first(where: { $0.type == "Ready" }), ready.status != "True" else { return nil }
        return [ready.reason, ready.message].compactMap { $0 }.joined(separator: ": ")
    }
}

/// One request the client made, for logs and tests.
public struct KubeRequestRecord: Sendable, Equatable {
    public var method: String
    public var path: String
}

/// The Kubernetes API over HTTPS (AsyncHTTPClient): server-side apply of Knative Services with
/// Gaia's field manager, reads, watches that resume after a cut, and the min-scale annotation of a
/// revision (what warms a variant without a new revision). Conflicts, throttling, server errors
/// and timeouts are retried with backoff; other refusals are thrown as `KubeError`.
public final class KubeClient: Sendable {
    public let config: KubeConfig
    /// The field manager of Gaia's server-side applies.
    public let fieldManager: String
    let http: HTTPClient
    let requestTimeout: TimeAmount
    let attempts: Int
    let backoff: Duration

    /// A client; `shutdown()` it when done.
    public init(
        config: KubeConfig, fieldManager: String = "gaia", requestTimeout: Duration = .seconds(10), attempts: Int = 4,
        backoff: Duration = .milliseconds(200)
    ) throws {
        self.config = config
        self.fieldManager = fieldManager
        self.requestTimeout = TimeAmount(requestTimeout)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = config.caPEM { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca)) }
            if let cert = config.clientCertificatePEM, let key = config.clientKeyPEM {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw KubeError(status: 0, reason: "BadCredentials", message: "the CA or client certificate is not valid PEM: \(error)")
        }
        if config.insecureSkipTLSVerify { tls.certificateVerification = .none }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: self.requestTimeout)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The Kubernetes API's own answer to a delete (a `Status`, or the object deleted).
    struct Ignored: Decodable {}

    /// A list of revisions, with the version to watch from.
    struct RevisionList: Decodable {
        struct Meta: Decodable { var resourceVersion: String? }
        var metadata: Meta?
        var items: [KnativeObject]
    }

    /// Closes the connections.
    public func shutdown() async throws { try await http.shutdown() }

    static let services = "/apis/serving.knative.dev/v1/namespaces/%@/services"
    static let revisions = "/apis/serving.knative.dev/v1/namespaces/%@/revisions"
    func servicesPath(_ name: String? = nil) -> String { String(format: Self.services, config.namespace) + (name.map { "/\($0)" } ?? "") }
    func revisionsPath(_ name: String? = nil) -> String { String(format: Self.revisions, config.namespace) + (name.map { "/\($0)" } ?? "") }
    func configMapsPath(_ name: String? = nil) -> String { "/api/v1/namespaces/\(config.namespace)/configmaps" + (name.map { "/\($0)" } ?? "") }

    // MARK: Operations

    /// Creates or updates a Service by server-side apply (`force`: Gaia owns the fields it writes).
    @discardableResult
    public func apply(_ service: KnativeService) async throws -> KnativeObject {
        guard let name = service.metadata.name else { throw KubeError(status: 0, reason: "Invalid", message: "a Service needs a name") }
        var service = service
        service.metadata.namespace = config.namespace
        return try await send(.PATCH, servicesPath(name), query: applyQuery, body: try JSONEncoder().encode(service), contentType: "application/apply-patch+yaml")
    }

    /// Creates or updates a ConfigMap (its `data` and `binaryData` as given) by server-side apply.
    public func applyConfigMap(name: String, labels: [String: String], binaryData: [String: [UInt8]], immutable: Bool) async throws {
        let body: [String: Any] = [
            "apiVersion": "v1", "kind": "ConfigMap", "immutable": immutable,
            "metadata": ["name": name, "namespace": config.namespace, "labels": labels],
            "binaryData": binaryData.mapValues { Data($0).base64EncodedString() },
        ]
        let _: Ignored = try await send(
            .PATCH, configMapsPath(name), query: applyQuery, body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]),
            contentType: "application/apply-patch+yaml")
    }

    /// Deletes a Service (its revisions and pods go with it); one already gone is no error.
    public func deleteService(_ name: String) async throws {
        do {
            let _: Ignored = try await send(.DELETE, servicesPath(name))
        } catch let error as KubeError where error.status == 404 {}
    }

    /// Deletes every ConfigMap with these labels.
    public func deleteConfigMaps(labelSelector: String) async throws {
        let _: Ignored = try await send(.DELETE, configMapsPath(), query: [("labelSelector", labelSelector)])
    }

    /// A Service as the cluster has it.
    public func service(_ name: String) async throws -> KnativeObject { try await send(.GET, servicesPath(name)) }

    /// A Revision as the cluster has it.
    public func revision(_ name: String) async throws -> KnativeObject { try await send(.GET, revisionsPath(name)) }

    /// Sets a revision's `autoscaling.knative.dev/min-scale` by server-side apply of that one
    /// annotation (metadata only: Knative makes no new revision; it passes the annotation to the
    /// revision's PodAutoscaler).
    @discardableResult
    public func setMinScale(revision: String, to scale: Int) async throws -> KnativeObject {
        let body: [String: Any] = [
            "apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": ["name": revision, "namespace": config.namespace, "annotations": ["autoscaling.knative.dev/min-scale": String(max(0, scale))]],
        ]
        return try await send(
            .PATCH, revisionsPath(revision), query: applyQuery, body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]),
            contentType: "application/apply-patch+yaml")
    }

    var applyQuery: [(String, String)] { [("fieldManager", fieldManager), ("force", "true")] }

    /// Watches one revision until `done` holds, resuming from the last version seen when the
    /// stream is cut, and re-reading it when that version is gone (410); throws at `deadline`.
    public func waitForRevision(
        _ name: String, until deadline: ContinuousClock.Instant, _ done: @Sendable (KnativeObject) -> Bool
    ) async throws -> KnativeObject {
        var current = try await revision(name)
        while !done(current) {
            let left = deadline - .now
            guard left > .zero else {
                throw KubeError(status: 0, reason: "Timeout", message: "revision \(name) did not become ready in time (\(current.notReadyReason ?? "no reason given"))")
            }
            var query = [("watch", "true"), ("fieldSelector", "metadata.name=\(name)"), ("allowWatchBookmarks", "true"),
                         ("timeoutSeconds", String(max(1, Int(left.components.seconds))))]
            if let version = current.metadata.resourceVersion { query.append(("resourceVersion", version)) }
            do {
                for try await event in try await watch(revisionsPath(), query: query, deadline: deadline) {
                    switch event.type {
                    case "ADDED", "MODIFIED":
                        if let object = event.object { current = object }
                    case "BOOKMARK":
                        if let version = event.object?.metadata.resourceVersion { current.metadata.resourceVersion = version }
                    case "ERROR":
                        if event.status?.code == 410 { current = try await revision(name) }  // too old: read it again
                        else { throw KubeError(status: event.status?.code ?? 0, reason: event.status?.reason ?? "WatchError", message: event.status?.message ?? "watch failed") }
                    default:
                        break
                    }
                    if done(current) { return current }
                }
            } catch let error as KubeError where error.status == 410 {
                current = try await revision(name)
            } catch let error as KubeError where error.reason == "WatchCut" {
                try await Task.sleep(for: backoff)  // then resume from the last version seen (not in a tight loop when the server is gone)
            }
        }
        return current
    }

    /// Every revision with these labels as it changes, for as long as the stream is read: a list,
    /// then a watch from the list's version, resumed from the last version seen after a cut and
    /// listed afresh when that version is gone (410), as a Kubernetes informer does. A refusal
    /// (403, say) is handed to `failed` and tried again after `retry`.
    public func revisionUpdates(
        labelSelector: String, retry: Duration = .seconds(2), failed: @escaping @Sendable (KubeError) -> Void = { _ in }
    ) -> AsyncStream<KnativeObject> {
        AsyncStream { continuation in
            let task = Task {
                var version: String?
                while !Task.isCancelled {
                    do {
                        if version == nil {
                            let list: RevisionList = try await send(.GET, revisionsPath(), query: [("labelSelector", labelSelector)])
                            for item in list.items { continuation.yield(item) }
                            version = list.metadata?.resourceVersion ?? ""
                        }
                        var query = [("watch", "true"), ("labelSelector", labelSelector), ("allowWatchBookmarks", "true"), ("timeoutSeconds", "300")]
                        if let version, !version.isEmpty { query.append(("resourceVersion", version)) }
                        for try await event in try await watch(revisionsPath(), query: query, deadline: .now + .seconds(310)) {
                            switch event.type {
                            case "ADDED", "MODIFIED", "DELETED":
                                guard var object = event.object else { continue }
                                if event.type == "DELETED" { object.status?.actualReplicas = 0 }
                                version = object.metadata.resourceVersion ?? version
                                continuation.yield(object)
                            case "BOOKMARK":
                                version = event.object?.metadata.resourceVersion ?? version
                            case "ERROR":
                                throw KubeError(status: event.status?.code ?? 0, reason: event.status?.reason ?? "WatchError", message: event.status?.message ?? "watch failed")
                            default:
                                break
                            }
                        }
                    } catch let error as KubeError where error.status == 410 {
                        version = nil  // too old: list again
                        continue
                    } catch let error as KubeError where error.reason == "WatchCut" {
                        try? await Task.sleep(for: .milliseconds(100))  // then resume from the last version seen
                        continue
                    } catch let error as KubeError {
                        if Task.isCancelled { break }
                        failed(error)
                        version = nil
                    } catch {
                        if Task.isCancelled { break }
                        failed(KubeError(status: 0, reason: "Unreachable", message: "\(error)"))
                        version = nil
                    }
                    try? await Task.sleep(for: retry)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Transport

    struct WatchEvent: Decodable {
        struct Status: Decodable { var code: Int?; var reason: String?; var message: String? }
        var type: String
        var object: KnativeObject?
        var status: Status?

        enum CodingKeys: String, CodingKey { case type, object }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decode(String.self, forKey: .type)
            if type == "ERROR" {
                status = try? c.decode(Status.self, forKey: .object)
            } else {
                object = try? c.decode(KnativeObject.self, forKey: .object)
            }
        }
    }

    func url(_ path: String, _ query: [(String, String)]) -> String {
        var components = URLComponents()
        components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        let encoded = components.percentEncodedQuery.map { "?" + $0.replacingOccurrences(of: "+", with: "%2B") } ?? ""
        return config.server + path + encoded
    }

    func makeRequest(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: Data?, contentType: String?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url(path, query))
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "gaia/\(fieldManager)")
        if let token = config.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    /// One call, retried on conflicts, throttling, server errors and timeouts; decodes the answer.
    func send<T: Decodable>(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil, contentType: String? = nil
    ) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response: HTTPClientResponse
                let bytes: ByteBuffer
                do {
                    response = try await http.execute(makeRequest(method, path, query: query, body: body, contentType: contentType), timeout: requestTimeout)
                    bytes = try await response.body.collect(upTo: 16 << 20)
                } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
                    throw KubeError(status: 0, reason: "Timeout", message: "\(method) \(path): no answer within \(requestTimeout)")
                } catch let error as KubeError {
                    throw error
                } catch {
                    throw KubeError(status: 0, reason: "Unreachable", message: "\(method) \(path): \(error)")
                }
                let status = Int(response.status.code)
                guard (200..<300).contains(status) else { throw Self.error(status: status, body: bytes, path: path) }
                do {
                    return try JSONDecoder().decode(T.self, from: Data(bytes.readableBytesView))
                } catch {
                    throw KubeError(status: status, reason: "BadResponse", message: "\(method) \(path): not the object expected: \(error)")
                }
            } catch let error as KubeError where error.retryable && attempt < attempts {
                try await Task.sleep(for: backoff * (1 << (attempt - 1)))
            }
        }
    }

    /// A watch's events as they come, one JSON object per line; a stream that ends in the middle
    /// of an event, or fails, ends with a `WatchCut` error (the caller resumes).
    func watch(_ path: String, query: [(String, String)], deadline: ContinuousClock.Instant) async throws -> AsyncThrowingStream<WatchEvent, any Error> {
        let left = max(.seconds(1), deadline - .now)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(
                makeRequest(.GET, path, query: query, body: nil, contentType: nil),
                timeout: TimeAmount(left))
        } catch {
            throw KubeError(status: 0, reason: "WatchCut", message: "watch \(path): \(error)")
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            throw Self.error(status: status, body: (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer(), path: path)
        }
        return AsyncThrowingStream { continuation in
            let task = Task {
                var pending: [UInt8] = []
                do {
                    for try await chunk in response.body {
                        pending += chunk.readableBytesView
                        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            let line = Array(pending[..<newline])
                            pending.removeSubrange(...newline)
                            guard !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) else { continue }
                            continuation.yield(try JSONDecoder().decode(WatchEvent.self, from: Data(line)))
                        }
                    }
                    if pending.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }) {
                        throw KubeError(status: 0, reason: "WatchCut", message: "the watch ended in the middle of an event")
                    }
                    continuation.finish(throwing: KubeError(status: 0, reason: "WatchCut", message: "the watch ended"))
                } catch let error as KubeError {
                    continuation.finish(throwing: error)
                } catch {
                    continuation.finish(throwing: KubeError(status: 0, reason: "WatchCut", message: "the watch was cut: \(error)"))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The error a non-2xx answer stands for, from its `Status` body when it has one.
    static func error(status: Int, body: ByteBuffer, path: String) -> KubeError {
        struct Status: Decodable { var reason: String?; var message: String? }
        let parsed = try? JSONDecoder().decode(Status.self, from: Data(body.readableBytesView))
        let fallback = HTTPResponseStatus(statusCode: status).reasonPhrase.replacingOccurrences(of: " ", with: "")
        return KubeError(
            status: status, reason: parsed?.reason ?? fallback,
            message: parsed?.message ?? "\(path): \(String(buffer: body).prefix(300))")
    }
}
