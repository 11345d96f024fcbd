import Foundation
import GaiaCore
import GaiaRuntime
import GaiaServer
import GaiaStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import Testing

/// The HTTP API, in process and on a live loopback port, over real worker processes.
struct GaiaServerTests {
    static let python: String? = try? PythonInterpreter.resolve("python3")

    func app(timeout: Duration = .seconds(60), maxScale: Int = 4, maxBody: Int = 64 * 1024, keepAlive: Duration = .seconds(60)) throws -> (some ApplicationProtocol, FunctionRuntime) {
        let python = try #require(Self.python, "python3 is required for server tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-srv-\(UUID().uuidString)").path
        var configuration = RuntimeConfiguration(dataDirectory: dir, python: python)
        configuration.pool.invocationTimeout = timeout
        configuration.pool.maxScale = maxScale
        configuration.autoscaler.maxScale = maxScale
        configuration.keepAlive.useDefaultKeepAlive(keepAlive)
        let runtime = FunctionRuntime(configuration: configuration, database: try GaiaDatabase.inMemory())
        let router = GaiaServer.router(runtime: runtime, maxBodyBytes: maxBody)
        return (Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))), runtime)
    }

    static func deployBody(_ name: String, _ source: String, extra: String = "") -> ByteBuffer {
        let files = try! JSONSerialization.data(withJSONObject: ["handler.py": source])
        return ByteBuffer(string: "{\"name\": \"\(name)\", \"files\": \(String(decoding: files, as: UTF8.self))\(extra)}")
    }

    static let echo = "def handle(payload, context):\n    return payload\n"

    /// A folder both a function and the test reach: the function's `TMPDIR` (its home's `tmp` when
    /// sandboxed, where its `/tmp` is its own), else the temporary folder. The function writes
    /// under `tempfile.gettempdir()`; the test reads here.
    static func sharedTemporaryFolder(data: String, function: String) -> String {
        let home = "\(data)/home/\(function)/tmp"
        return FileManager.default.fileExists(atPath: home) ? home : FileManager.default.temporaryDirectory.path
    }

    func errorCode(_ response: TestResponse) -> String? {
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
        return (object?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func deployListDescribeInvokeAndDelete() async throws {
        let (app, runtime) = try app()
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/functions", method: .post, body: Self.deployBody("echo", Self.echo, extra: #", "slo": "p95=300ms""#)) { response in
                #expect(response.status == .created)
                let manifest = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
                #expect(manifest?["mode"] as? String == "cpu")
                let slo = manifest?["slo"] as? [String: Any]
                #expect(slo?["statistic"] as? String == "p95" && slo?["threshold_ms"] as? Double == 300)
            }
            try await client.execute(uri: "/v1/functions/echo/invoke", method: .post, body: ByteBuffer(string: #"{"x": 1}"#)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"x": 1}"#)
                #expect(response.headers[HTTPField.Name("Gaia-Backend")!] == "cpu-1")
                #expect(response.headers[HTTPField.Name("Gaia-Cold-Start")!] == "false")
                #expect(response.headers[HTTPField.Name("Gaia-Instance")!] != nil)
                #expect(Double(response.headers[HTTPField.Name("Gaia-Duration-Ms")!] ?? "") != nil)
            }
            try await client.execute(uri: "/v1/functions", method: .get) { response in
                #expect(String(buffer: response.body).contains("\"name\":\"echo\""))
            }
            try await client.execute(uri: "/v1/functions/echo/invocations", method: .get) { response in
                let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
                #expect((object?["invocations"] as? [Any])?.count == 1)
            }
            try await client.execute(uri: "/v1/functions/echo", method: .get) { response in
                let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
                #expect(object?["revision"] as? Int == 1 && (object?["cost_usd"] as? Double ?? 0) > 0)
                #expect(object?["invocations"] as? Int == 1 && object?["cold_starts"] as? Int == 0)
                #expect((object?["deployed_at"] as? String)?.hasSuffix("Z") == true)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"gaia_invocations_total{function="echo",backend="cpu-1",status="200"} 1"#), "\(text)")
                #expect(text.contains(#"gaia_invocation_duration_seconds_count{function="echo",backend="cpu-1"} 1"#))
                #expect(text.contains(#"gaia_instances{function="echo"} 1"#))
            }
            try await client.execute(uri: "/v1/functions/echo", method: .delete) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/v1/functions/echo/invoke", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .notFound)
                #expect(errorCode(response) == "not_found")
            }
        }
        await runtime.shutdown()
    }

    func json(_ response: TestResponse) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]) ?? [:]
    }

    /// What the dashboard reads and does: the list with recent activity, the machine, a function's
    /// source and decisions, and settings changed in place of a redeploy.
    @Test func settingsChangeAsANewRevisionOfTheSameFilesAndTheDashboardsReadsAnswer() async throws {
        let (app, runtime) = try app()
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/functions", method: .post, body: Self.deployBody("echo", Self.echo, extra: #", "slo": "p95=300ms""#)) {
                #expect($0.status == .created)
            }
            for _ in 0..<2 {
                try await client.execute(uri: "/v1/functions/echo/invoke", method: .post, body: ByteBuffer(string: #"{"x": 1}"#)) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/v1/functions", method: .get) { response in
                let item = try #require((json(response)["functions"] as? [[String: Any]])?.first)
                #expect(item["slo"] as? String == "p95=300ms" && item["slo_ms"] as? Double == 300 && item["slo_statistic"] as? String == "p95")
                #expect((item["confidence"] as? Double ?? 0) > 0)
                let minute = try #require(item["last_minute"] as? [String: Any])
                #expect(minute["seconds"] as? Double == 60 && minute["invocations"] as? Int == 2 && minute["errors"] as? Int == 0)
                #expect((minute["p95_ms"] as? Double ?? 0) > 0)
                #expect((item["last_hour"] as? [String: Any])?["invocations"] as? Int == 2)
            }
            try await client.execute(uri: "/v1/machine", method: .get) { response in
                let machine = json(response)
                let ladder = try #require(machine["ladder"] as? [[String: Any]])
                #expect((machine["cpus"] as? [Int])?.count == runtime.configuration.machine.cpus.count)
                #expect(ladder.first?["backend"] as? String == "cpu-1" && (ladder.first?["price_per_second_usd"] as? Double ?? 0) > 0)
                #expect(ladder.contains { ($0["functions"] as? [String]) == ["echo"] && $0["instances"] as? Int == 1 })
            }
            // A new SLO and scale bound: revision 2 of the same files, serving.
            try await client.execute(uri: "/v1/functions/echo", method: .patch, body: ByteBuffer(string: #"{"slo": "p99=50ms", "max_scale": 2}"#)) { response in
                #expect(response.status == .ok)
                let manifest = json(response)
                #expect((manifest["slo"] as? [String: Any])?["statistic"] as? String == "p99" && manifest["max_scale"] as? Int == 2)
            }
            try await client.execute(uri: "/v1/functions/echo", method: .get) { response in
                let d = json(response)
                #expect(d["revision"] as? Int == 2 && (d["rung"] as? [String: Any])?["slo"] as? String == "p99=50ms")
            }
            try await client.execute(uri: "/v1/functions/echo/invoke", method: .post, body: ByteBuffer(string: #"{"y": 2}"#)) { response in
                #expect(response.status == .ok && String(buffer: response.body) == #"{"y": 2}"#)
            }
            // Force a mode, then release it; the SLO back to the platform's default.
            try await client.execute(uri: "/v1/functions/echo", method: .patch, body: ByteBuffer(string: #"{"mode": "cpu_preferred"}"#)) { response in
                #expect(json(response)["mode"] as? String == "cpu_preferred" && json(response)["mode_override"] as? String == "cpu_preferred")
                #expect((json(response)["slo"] as? [String: Any])?["statistic"] as? String == "p99", "an unnamed setting stays")
            }
            try await client.execute(uri: "/v1/functions/echo", method: .patch, body: ByteBuffer(string: #"{"mode": "auto", "slo": "default"}"#)) { response in
                #expect(json(response)["mode"] as? String == "cpu" && json(response)["mode_override"] == nil && json(response)["slo"] == nil)
                #expect(json(response)["max_scale"] as? Int == 2)
            }
            let refused: [(String, String)] = [
                ("{}", "bad_request"), ("not json", "bad_request"), (#"{"slo": "fast"}"#, "invalid_slo"), (#"{"mode": "quantum"}"#, "invalid_mode"),
                (#"{"min_scale": 3, "max_scale": 1}"#, "invalid_scale"),
            ]
            for (body, code) in refused {
                try await client.execute(uri: "/v1/functions/echo", method: .patch, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest && errorCode(response) == code, "\(body)")
                }
            }
            try await client.execute(uri: "/v1/functions/nope", method: .patch, body: ByteBuffer(string: #"{"slo": "p95=1s"}"#)) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/v1/functions/echo/source", method: .get) { response in
                let source = json(response)
                #expect(source["revision"] as? Int == 4 && source["entry_point"] as? String == "handler.py")
                #expect(source["files"] as? [String: String] == ["handler.py": Self.echo])
            }
            try await client.execute(uri: "/v1/functions/echo/decisions?limit=5", method: .get) { response in
                #expect(response.status == .ok && json(response)["decisions"] is [Any])
            }
            for uri in ["/v1/functions/nope/source", "/v1/functions/nope/decisions"] {
                try await client.execute(uri: uri, method: .get) { #expect($0.status == .notFound, "\(uri)") }
            }
        }
        await runtime.shutdown()
    }

    @Test func faultsMapToClearErrorsAndTheServerKeepsServing() async throws {
        let (app, runtime) = try app(timeout: .milliseconds(500), maxBody: 1024)
        let faulty = """
            import os, time
            def handle(payload, context):
                if payload.get("raise"):
                    raise RuntimeError("boom")
                if payload.get("exit"):
                    os._exit(1)
                if payload.get("sleep"):
                    time.sleep(payload["sleep"])
                return "ok"
            """
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/functions", method: .post, body: ByteBuffer(string: "not json")) { response in
                #expect(response.status == .badRequest)
                #expect(errorCode(response) == "bad_request")
            }
            try await client.execute(uri: "/v1/functions", method: .post, body: Self.deployBody("slo", Self.echo, extra: #", "slo": "p97=1ms""#)) { response in
                #expect(response.status == .badRequest)
                #expect(errorCode(response) == "invalid_slo")
            }
            try await client.execute(uri: "/v1/functions", method: .post, body: Self.deployBody("bad", "def handle(:\n")) { response in
                #expect(response.status == .badRequest)
                #expect(errorCode(response) == "syntax_error")
            }
            try await client.execute(uri: "/v1/functions", method: .post, body: Self.deployBody("faulty", faulty)) { response in
                #expect(response.status == .created)
            }
            try await client.execute(uri: "/v1/functions/faulty/invoke", method: .post, body: ByteBuffer(string: #"{"raise": true}"#)) { response in
                #expect(response.status == .internalServerError)
                let body = String(buffer: response.body)
                #expect(body.contains("RuntimeError: boom") && body.contains("traceback"))
            }
            try await client.execute(
                uri: "/v1/functions/faulty/invoke", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{not json")
            ) { response in
                #expect(response.status == .badRequest, "a body that is not the JSON its content type says is the client's error")
                #expect(errorCode(response) == "bad_request")
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"gaia_invocations_total{function="faulty",backend="cpu-1",status="500"} 1"#), "errors count under their rung")
                #expect(!text.contains("unknown"))
            }
            try await client.execute(uri: "/v1/functions/faulty/invoke", method: .post, body: ByteBuffer(string: #"{"exit": true}"#)) { response in
                #expect(response.status == .badGateway)
                #expect(errorCode(response) == "instance_failed")
            }
            try await client.execute(uri: "/v1/functions/faulty/invoke", method: .post, body: ByteBuffer(string: #"{"sleep": 30}"#)) { response in
                #expect(response.status == .gatewayTimeout)
                #expect(errorCode(response) == "timeout")
            }
            try await client.execute(uri: "/v1/functions/faulty/invoke", method: .post, body: ByteBuffer(string: String(repeating: "x", count: 5000))) { response in
                #expect(response.status == .contentTooLarge)
                #expect(errorCode(response) == "too_large")
            }
            try await client.execute(uri: "/v1/functions/faulty/invoke", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .ok && String(buffer: response.body) == "ok", "the server still serves after every fault")
            }
        }
        #expect(try runtime.database.function(named: "bad") == nil, "a refused deploy stores nothing")
        await runtime.shutdown()
    }

    /// The repository's example, as a deploy body.
    static func example(_ name: String) throws -> ByteBuffer {
        deployBody(name, try exampleSource(name))
    }

    /// The source of the repository's example.
    static func exampleSource(_ name: String) throws -> String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/\(name)/handler.py").path
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test func theExamplesServeTwoHundredConcurrentRequestsOnALivePort() async throws {
        let (app, runtime) = try app(maxScale: 4)
        try await app.test(.ahc(.http)) { client in
            for name in ["echo", "idle", "matmul"] {
                try await client.execute(uri: "/v1/functions", method: .post, body: try Self.example(name)) { #expect($0.status == .created) }
            }
            let calls: [(String, String, @Sendable (String) -> Bool)] = [
                ("echo", "{\"i\": %d}", { _ in true }),
                ("idle", #"{"seconds": 0.01}"#, { $0.contains("slept_s") }),
                ("matmul", #"{"n": 64}"#, { $0.contains("checksum") }),
            ]
            let results = try await withThrowingTaskGroup(of: (Int, Bool, Bool, String).self) { group in
                var results: [(Int, Bool, Bool, String)] = []
                for i in 0..<200 {
                    if i >= 16, let r = try await group.next() { results.append(r) }  // 16 in flight at a time
                    let (name, template, check) = calls[i % 3]
                    let payload = template.replacingOccurrences(of: "%d", with: String(i))
                    group.addTask {
                        try await client.execute(uri: "/v1/functions/\(name)/invoke", method: .post, body: ByteBuffer(string: payload)) { response in
                            let text = String(buffer: response.body)
                            let ok = response.status == .ok && (name == "echo" ? text == payload : check(text))
                            return (i, ok, response.headers[HTTPField.Name("Gaia-Cold-Start")!] == "true",
                                    name + "/" + (response.headers[HTTPField.Name("Gaia-Instance")!] ?? ""))
                        }
                    }
                }
                for try await r in group { results.append(r) }
                return results
            }
            #expect(results.count == 200 && results.allSatisfy { $0.1 }, "every response is 200 with the right body")
            // A queue does not start an instance per waiting request: the controller counts
            // instances at its tick (none ticks here), so each deploy's warm instance serves all.
            let cold = results.filter { $0.2 }.count
            #expect(cold == 0, "no request waited for a cold start: \(cold)")
            let echoInstances = Set(results.map(\.3).filter { $0.hasPrefix("echo/") })
            #expect(echoInstances.count == 1, "\(echoInstances)")
        }
        for name in ["echo", "idle", "matmul"] { #expect(await runtime.instanceCount(name) <= 4) }
        await runtime.shutdown()
    }

    @Test func anIdleFunctionScalesToZeroAndTheNextRequestIsAColdStart() async throws {
        let (app, runtime) = try app(keepAlive: .seconds(5))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/functions", method: .post, body: Self.deployBody("echo", Self.echo)) { #expect($0.status == .created) }
            try await client.execute(uri: "/v1/functions/echo/invoke", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.headers[HTTPField.Name("Gaia-Cold-Start")!] == "false")
            }
            let t0 = ContinuousClock.now
            for second in 0...6 { await runtime.tick(at: t0.advanced(by: .seconds(second))) }
            await runtime.actionsCarriedOut()
            try await client.execute(uri: "/v1/functions/echo", method: .get) { response in
                let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
                #expect(object?["instances"] as? Int == 0)
                let decisions = object?["decisions"] as? [[String: Any]]
                #expect((decisions?.last?["reason"] as? String)?.contains("scale to zero") == true)
            }
            try await client.execute(uri: "/v1/functions/echo/invoke", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("Gaia-Cold-Start")!] == "true")
            }
        }
        await runtime.shutdown()
    }

    /// A BentoML service with two APIs: `POST …/invoke/API` runs one (the path's name goes into the
    /// payload as its "api"); without one the caller is told the methods to choose from.
    @Test func aServicesMethodIsChosenByThePath() async throws {
        let (app, runtime) = try app()
        let service = """
            import bentoml

            @bentoml.service
            class Text:
                @bentoml.api
                def count(self, text: str) -> dict:
                    return {"words": len(text.split())}

                @bentoml.api
                def shout(self, text: str) -> str:
                    return text.upper()
            """
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/functions", method: .post, body: Self.deployBody("text", service)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                #expect(json(response)["convention"] as? String == "bentoml" && json(response)["handler"] as? String == "Text")
            }
            try await client.execute(uri: "/v1/functions/text/invoke/count", method: .post, body: ByteBuffer(string: #"{"text": "a b c"}"#)) { response in
                #expect(response.status == .ok && json(response)["words"] as? Int == 3, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/v1/functions/text/invoke/shout", method: .post, body: ByteBuffer(string: #"{"text": "hi"}"#)) { response in
                #expect(response.status == .ok && String(buffer: response.body) == "HI")
            }
            try await client.execute(uri: "/v1/functions/text/invoke", method: .post, body: ByteBuffer(string: #"{"text": "hi"}"#)) { response in
                #expect(response.status == .badRequest && String(buffer: response.body).contains("name one as the payload's"), "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/v1/functions/text/invoke/count", method: .post, body: ByteBuffer(string: "not json")) { response in
                #expect(response.status == .badRequest && String(buffer: response.body).contains("takes a JSON object"))
            }
            try await client.execute(uri: "/v1/functions/text/invoke/count", method: .post, body: ByteBuffer(string: #"{"api": "shout", "text": "x"}"#)) { response in
                #expect(response.status == .badRequest && String(buffer: response.body).contains("give one"))
            }
        }
        await runtime.shutdown()
    }
}
