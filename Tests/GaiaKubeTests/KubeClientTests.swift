import Foundation
import GaiaCore
import GaiaKube
import Hummingbird
import HummingbirdTLS
import HummingbirdTesting
import NIOCore
import NIOSSL
import Testing

/// A local HTTPS server standing in for the Kubernetes API server: it records each request and
/// answers from a script of fixture bodies (`Fixtures/api`, shaped as the API reference documents).
actor FakeAPI {
    struct Seen: Sendable, Equatable {
        var method: String
        var path: String
        var query: [String: String]
        var contentType: String?
        var authorization: String?
        var body: String
        var line: String { "\(method) \(path)" }
    }

    enum Reply: Sendable {
        /// A status and a fixture body.
        case fixture(Int, String)
        /// A watch: these fixture objects as events (`type`, fixture), then an end, or a cut in the middle of an event.
        case watch([(String, String)], cut: Bool)
        /// This long, then the reply.
        indirect case slow(Duration, Reply)
    }

    private(set) var seen: [Seen] = []
    /// Replies per `METHOD path`, in order; the last one repeats.
    private var script: [String: [Reply]] = [:]

    func on(_ method: String, _ path: String, _ replies: Reply...) { script["\(method) \(path)", default: []] += replies }

    /// The replies for a request: those for its selector (`GET path watch ?selector`, `GET path ?selector`) first, else its `METHOD path`.
    func record(_ seen: Seen) -> Reply {
        self.seen.append(seen)
        let selector = (seen.query["labelSelector"] ?? seen.query["fieldSelector"]).map { " ?\($0)" } ?? ""
        let selected = seen.line + (seen.query["watch"] == "true" ? " watch" : "") + selector
        let key = script[selected] != nil ? selected : seen.line
        guard var replies = script[key], !replies.isEmpty else { return .fixture(404, "status-404.json") }
        let reply = replies.count > 1 ? replies.removeFirst() : replies[0]
        script[key] = replies
        return reply
    }

    static func fixture(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/api/\(name)", withExtension: nil))
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func tlsFile(_ name: String) throws -> String {
        try #require(Bundle.module.url(forResource: "Fixtures/tls/\(name)", withExtension: nil)).path
    }

    /// Runs the fake API over TLS (requiring a client certificate when `mutualTLS`) for `body`.
    func serve<T: Sendable>(mutualTLS: Bool = false, _ body: @Sendable @escaping (Int) async throws -> T) async throws -> T {
        let router = Router()
        for method in [HTTPRequest.Method.get, .patch, .post, .put, .delete] {
            router.on("**", method: method) { request, _ -> Response in
                var request = request
                let bytes = try await request.collectBody(upTo: 1 << 20)
                var query: [String: String] = [:]
                for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
                let reply = await self.record(Seen(
                    method: request.method.rawValue, path: request.uri.path, query: query,
                    contentType: request.headers[.contentType], authorization: request.headers[.authorization], body: String(buffer: bytes)))
                return try await Self.respond(reply)
            }
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(Self.tlsFile("server.crt")).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: Self.tlsFile("server.key"), format: .pem)))
        if mutualTLS {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(Self.tlsFile("ca.crt")))
        }
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in try await body(try #require(client.port)) }
    }

    static func respond(_ reply: Reply) async throws -> Response {
        switch reply {
        case .slow(let delay, let next):
            try await Task.sleep(for: delay)
            return try await respond(next)
        case .fixture(let status, let name):
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: try fixture(name))))
        case .watch(let events, let cut):
            let lines = try events.map { type, name in
                let object = try JSONSerialization.jsonObject(with: Data(try fixture(name).utf8))
                // A watch ERROR event's fixture is the whole event; others are objects.
                let event = type == "ERROR" ? object : ["type": type, "object": object]
                return String(decoding: try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys]), as: UTF8.self) + "\n"
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
                for line in lines { try await writer.write(ByteBuffer(string: line)) }
                if cut {
                    try await writer.write(ByteBuffer(string: #"{"type":"MODIFIED","object":{"metadata":{"na"#))
                    throw CancellationError()  // the connection drops in the middle of an event
                }
                try await writer.finish(nil)
            })
        }
    }
}

struct KubeClientTests {
    static let namespace = "ml"
    static let services = "/apis/serving.knative.dev/v1/namespaces/ml/services"
    static let revisions = "/apis/serving.knative.dev/v1/namespaces/ml/revisions"

    func client(_ port: Int, token: String? = "t0k3n", timeout: Duration = .seconds(5)) throws -> KubeClient {
        let ca = Array(try Data(contentsOf: URL(fileURLWithPath: try FakeAPI.tlsFile("ca.crt"))))
        return try KubeClient(
            config: KubeConfig(server: "https://127.0.0.1:\(port)", namespace: Self.namespace, token: token, caPEM: ca),
            requestTimeout: timeout, backoff: .milliseconds(10))
    }

    func service() throws -> KnativeService {
        let m = FunctionManifest(
            name: "matmul", entryPoint: "handler.py", handler: "handle", detectedMode: .gpuPreferred, confidence: 0.9, rationale: "r",
            evidence: [], frameworks: ["torch"], estimatedWork: WorkEstimate(), analyzerVersion: "test")
        return try KnativeRenderer.services(for: m)[0]
    }

    @Test func appliesByServerSideApplyWithGaiasFieldManagerAndToken() async throws {
        let api = FakeAPI()
        await api.on("PATCH", "\(Self.services)/matmul-gpu", .fixture(200, "service-gpu-ready.json"))
        let service = try service()
        let seen = try await api.serve { port in
            let client = try client(port)
            let object = try await client.apply(service)
            try await client.shutdown()
            #expect(object.isReady && object.status?.latestReadyRevisionName == "matmul-gpu-00001")
            return await api.seen
        }
        let request = try #require(seen.first)
        #expect(seen.count == 1 && request.method == "PATCH" && request.path == "\(Self.services)/matmul-gpu")
        #expect(request.query == ["fieldManager": "gaia", "force": "true"])
        #expect(request.contentType == "application/apply-patch+yaml" && request.authorization == "Bearer t0k3n")
        let sent = try JSONDecoder().decode(KnativeService.self, from: Data(request.body.utf8))
        #expect(sent.metadata.namespace == "ml" && sent.spec == service.spec)
    }

    @Test func refusalsAreClearErrorsAndConflictsAreRetried() async throws {
        let api = FakeAPI()
        for status in [401, 403, 404, 422] {
            await api.on("GET", "\(Self.services)/f\(status)", .fixture(status, "status-\(status).json"))
        }
        await api.on("GET", "\(Self.services)/flaky", .fixture(409, "status-409.json"), .fixture(200, "service-gpu-ready.json"))
        await api.on("GET", "\(Self.services)/busy", .fixture(409, "status-409.json"))
        try await api.serve { port in
            let client = try client(port)
            for status in [401, 403, 404, 422] {
                do {
                    _ = try await client.service("f\(status)")
                    Issue.record("HTTP \(status) was taken for a success")
                } catch let error as KubeError {
                    #expect(error.status == status)
                    let expected = ["401": "Unauthorized", "403": "Forbidden", "404": "NotFound", "422": "Invalid"]["\(status)"]
                    #expect(error.reason == expected && error.description.contains("HTTP \(status)"), "\(error)")
                }
            }
            let forbidden = await #expect(throws: KubeError.self) { try await client.service("f403") }
            #expect(forbidden?.description.contains(#"cannot patch resource "services""#) == true)
            #expect(forbidden?.description.contains("docs/CLUSTER.md") == true)
            #expect(try await client.service("flaky").isReady, "a conflict is tried again")
            let busy = await #expect(throws: KubeError.self) { try await client.service("busy") }
            #expect(busy?.status == 409)
            try await client.shutdown()
        }
        let counts = Dictionary(grouping: await api.seen, by: \.path).mapValues(\.count)
        #expect(counts["\(Self.services)/f401"] == 1 && counts["\(Self.services)/f422"] == 1, "refusals are not retried")
        #expect(counts["\(Self.services)/f403"] == 2 && counts["\(Self.services)/flaky"] == 2 && counts["\(Self.services)/busy"] == 4)
    }

    @Test func aSlowServerIsRetriedThenReportedAsATimeout() async throws {
        let api = FakeAPI()
        await api.on("GET", "\(Self.services)/late", .slow(.seconds(2), .fixture(200, "service-gpu-ready.json")), .fixture(200, "service-gpu-ready.json"))
        await api.on("GET", "\(Self.services)/stuck", .slow(.seconds(2), .fixture(200, "service-gpu-ready.json")))
        try await api.serve { port in
            let client = try client(port, timeout: .milliseconds(300))
            #expect(try await client.service("late").isReady, "the second try answers in time")
            let stuck = await #expect(throws: KubeError.self) { try await client.service("stuck") }
            #expect(stuck?.reason == "Timeout" && stuck?.description.contains("no answer within") == true, "\(String(describing: stuck))")
            try await client.shutdown()
        }
    }

    @Test func aWatchCutInTheMiddleOfAnEventResumesFromTheLastVersionSeen() async throws {
        let api = FakeAPI()
        await api.on("GET", "\(Self.revisions)/matmul-gpu-00001", .fixture(200, "revision-gpu-cold.json"))
        await api.on(
            "GET", Self.revisions, .watch([("MODIFIED", "revision-gpu-warming.json")], cut: true),
            .watch([("ERROR", "status-410-watch.json")], cut: false), .watch([("MODIFIED", "revision-gpu-warm.json")], cut: false))
        let seen = try await api.serve { port in
            let client = try client(port)
            let ready = try await client.waitForRevision("matmul-gpu-00001", until: .now + .seconds(10)) {
                $0.isReady && ($0.status?.actualReplicas ?? 0) >= 2
            }
            #expect(ready.metadata.resourceVersion == "5002")
            try await client.shutdown()
            return await api.seen
        }
        let watches = seen.filter { $0.path == Self.revisions }
        #expect(watches.count == 3)
        #expect(watches.allSatisfy { $0.query["watch"] == "true" && $0.query["fieldSelector"] == "metadata.name=matmul-gpu-00001" })
        #expect(watches.map { $0.query["resourceVersion"] } == ["5000", "5001", "5000"], "resumed after the cut; re-read after 410")
        #expect(seen.filter { $0.path == "\(Self.revisions)/matmul-gpu-00001" }.count == 2)
    }

    @Test func aKubeconfigWithAClientCertificateAuthenticatesByMutualTLS() async throws {
        @Sendable func pem(_ name: String) throws -> String {
            try Data(contentsOf: URL(fileURLWithPath: try FakeAPI.tlsFile(name))).base64EncodedString()
        }
        let api = FakeAPI()
        await api.on("GET", "\(Self.services)/matmul-gpu", .fixture(200, "service-gpu-ready.json"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-kubeconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await api.serve(mutualTLS: true) { port in
            let kubeconfig = """
                apiVersion: v1
                kind: Config
                current-context: gaia
                clusters:
                - name: test
                  cluster:
                    server: https://127.0.0.1:\(port)
                    certificate-authority-data: \(try pem("ca.crt"))
                users:
                - name: gaia
                  user:
                    client-certificate-data: \(try pem("client.crt"))
                    client-key-data: \(try pem("client.key"))
                contexts:
                - name: gaia
                  context: {cluster: test, user: gaia, namespace: ml}
                """
            let path = dir.appendingPathComponent("config").path
            try Data(kubeconfig.utf8).write(to: URL(fileURLWithPath: path))
            let config = try KubeConfig.load(kubeconfig: path)
            #expect(config.namespace == "ml" && config.token == nil && config.clientCertificatePEM != nil)
            let client = try KubeClient(config: config)
            #expect(try await client.service("matmul-gpu").isReady)
            try await client.shutdown()
            // Without the certificate the server does not let it in.
            var anonymous = config
            anonymous.clientCertificatePEM = nil
            anonymous.clientKeyPEM = nil
            let refused = try KubeClient(config: anonymous, attempts: 1)
            await #expect(throws: KubeError.self) { try await refused.service("matmul-gpu") }
            try await refused.shutdown()
        }
        #expect(await api.seen.allSatisfy { $0.authorization == nil })
    }

    @Test func revisionUpdatesListThenWatchFromTheListsVersionAndListAgainAfter410() async throws {
        let api = FakeAPI()
        let selector = "gaia.dev/function"
        await api.on("GET", "\(Self.revisions) ?\(selector)", .fixture(200, "revision-list.json"))
        await api.on(
            "GET", "\(Self.revisions) watch ?\(selector)",
            .watch([("MODIFIED", "revision-cpu-lowered.json"), ("ERROR", "status-410-watch.json")], cut: false), .watch([], cut: false))
        let (replicas, seen) = try await api.serve { port in
            let client = try client(port)
            var replicas: [Int] = []
            for await revision in client.revisionUpdates(labelSelector: selector, retry: .milliseconds(10)) {
                replicas.append(revision.status?.actualReplicas ?? -1)
                if replicas.count == 3 { break }
            }
            try await client.shutdown()
            return (replicas, await api.seen)
        }
        // Listed (1 pod), watched (lowered: 2 pods left), then 410: listed again (1 pod).
        #expect(replicas == [1, 2, 1])
        let reads = seen.map { ($0.query["watch"] == "true" ? "watch" : "list") + ($0.query["resourceVersion"].map { "@\($0)" } ?? "") }
        #expect(Array(reads.prefix(3)) == ["list", "watch@4900", "list"])
        #expect(seen.allSatisfy { $0.query["labelSelector"] == selector })
    }
}
