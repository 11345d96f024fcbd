import AsyncHTTPClient
import Foundation
import GaiaAPI
import GaiaRuntime
import GaiaServer
import GaiaStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Testing

/// Asynchronous invocations: accepted with 202 and an id, run by the queue, retried when the
/// instance failed, kept with their outcome; and none lost or run again after completion when the
/// server is killed with SIGKILL and restarted.
@Suite(.serialized)
struct AsyncInvocationTests {
    /// Echoes; `{"crash_once": NAME}` kills its own instance the first time (a file NAME in its
    /// temporary folder, which outlives the instance, marks it done); `{"fail": true}` raises.
    static let source = """
        import os, tempfile

        def handle(payload, context):
            marker = payload.get("crash_once") and os.path.join(tempfile.gettempdir(), payload["crash_once"])
            if marker and not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(9)
            if payload.get("fail"):
                raise ValueError("no")
            return payload
        """

    func app() throws -> (some ApplicationProtocol, FunctionRuntime) {
        let python = try #require(GaiaServerTests.python)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-async-\(UUID().uuidString)").path
        var configuration = RuntimeConfiguration(dataDirectory: dir, python: python)
        configuration.asyncInvocations.backoff = .milliseconds(100)
        let runtime = FunctionRuntime(configuration: configuration, database: try GaiaDatabase.inMemory())
        return (Application(router: GaiaServer.router(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0))), runtime)
    }

    func submit(_ client: some TestClientProtocol, _ payload: String, async how: String = "prefer") async throws -> AsyncInvocation {
        let headers: HTTPFields = how == "prefer" ? [HTTPField.Name("Prefer")!: "respond-async"] : [:]
        let uri = how == "prefer" ? "/v1/functions/jobs/invoke" : "/v1/functions/jobs/invoke?async=true"
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: payload)) { response in
            #expect(response.status == .accepted, "\(String(buffer: response.body))")
            let accepted = try APICoding.decoder().decode(AsyncInvocation.self, from: Data(buffer: response.body))
            #expect(response.headers[.location] == "/v1/invocations/\(accepted.id)" && accepted.statusURL == "/v1/invocations/\(accepted.id)")
            return accepted
        }
    }

    func finished(_ client: some TestClientProtocol, _ id: String) async throws -> AsyncInvocation {
        let started = ContinuousClock.now
        while true {
            let invocation = try await client.execute(uri: "/v1/invocations/\(id)", method: .get) {
                try APICoding.decoder().decode(AsyncInvocation.self, from: Data(buffer: $0.body))
            }
            if invocation.state == "succeeded" || invocation.state == "failed" { return invocation }
            try #require(ContinuousClock.now - started < .seconds(30), "\(id) did not finish: \(invocation)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func acceptedRunRetriedAndKept() async throws {
        let (app, runtime) = try app()
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/functions", method: .post, body: GaiaServerTests.deployBody("jobs", Self.source)) { #expect($0.status == .created) }
            let ok = try await finished(client, try await submit(client, #"{"x": 1}"#).id)
            #expect(ok.state == "succeeded" && ok.status == 200 && ok.result == #"{"x": 1}"# && ok.attempts == 1 && ok.expiresAt != nil)
            let viaQuery = try await finished(client, try await submit(client, #"{"y": 2}"#, async: "query").id)
            #expect(viaQuery.result == #"{"y": 2}"#)
            // The instance dies on the first attempt: retried after the backoff, on a new instance.
            let marker = "gaia-crash-\(UUID().uuidString)"
            let retried = try await finished(client, try await submit(client, #"{"crash_once": "\#(marker)"}"#).id)
            #expect(retried.state == "succeeded" && retried.attempts == 2, "\(retried)")
            // A handler's error is the outcome, not retried.
            let failed = try await finished(client, try await submit(client, #"{"fail": true}"#).id)
            #expect(failed.state == "failed" && failed.status == 500 && failed.attempts == 1 && failed.error?.contains("ValueError: no") == true)
            try await client.execute(uri: "/v1/invocations/inv_nothing", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v1/functions/nothing/invoke?async=true", method: .post, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .notFound)
            }
        }
        await runtime.shutdown()
    }

    /// 200 accepted, `kill -9` midway, restarted on the same data: every one ends with a stored
    /// result, and none that had finished before the kill runs again.
    @Test func aKilledServerLosesNoneAndRerunsNoFinishedOne() async throws {
        guard let gaia = ServeCommandTests.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests")
        }
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-async-kill-\(UUID().uuidString)").path
        let ranName = "gaia-ran-\(UUID().uuidString).log"
        func serve(_ port: Int) throws -> Process { try ServeCommandTests.serve(gaia, port: port, data: data) }
        func request(_ port: Int, _ path: String, _ body: String? = nil) -> HTTPClientRequest {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            if let token = ServeCommandTests.token(data) { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            if let body {
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
            }
            return request
        }
        func waitUp(_ port: Int) async throws {
            let started = ContinuousClock.now
            while (try? await HTTPClient.shared.execute(request(port, "/healthz"), timeout: .seconds(1)).status) != .ok {
                try #require(ContinuousClock.now - started < .seconds(10), "gaia serve did not start")
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        var port = ServeCommandTests.freePort()
        let first = try serve(port)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        try await waitUp(port)
        let source = "import os, tempfile, time\ndef handle(payload, context):\n    time.sleep(0.05)\n    with open(os.path.join(tempfile.gettempdir(), \(String(reflecting: ranName))), 'a') as f:\n        f.write(str(payload['i']) + '\\n')\n    return {'i': payload['i']}\n"
        let files = String(decoding: try JSONSerialization.data(withJSONObject: ["handler.py": source]), as: UTF8.self)
        let deployed = try await HTTPClient.shared.execute(request(port, "/v1/functions", #"{"name": "jobs", "files": \#(files)}"#), timeout: .seconds(30))
        try #require(deployed.status == .created)
        var ids: [Int: String] = [:]
        for i in 0..<200 {
            let response = try await HTTPClient.shared.execute(request(port, "/v1/functions/jobs/invoke?async=true", #"{"i": \#(i)}"#), timeout: .seconds(10))
            try #require(response.status == .accepted)
            ids[i] = try APICoding.decoder().decode(AsyncInvocation.self, from: Data(buffer: try await response.body.collect(upTo: 1 << 16))).id
        }
        // Kill it once some have finished and others have not.
        let database = try GaiaDatabase(path: data + "/gaia.sqlite")
        let waiting = ContinuousClock.now
        while try ids.values.filter({ try database.asyncInvocation(id: $0)?.state == "succeeded" }).count < 40 {
            try #require(ContinuousClock.now - waiting < .seconds(60))
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let doneBefore = Set(try ids.values.filter { try database.asyncInvocation(id: $0)?.state == "succeeded" })
        #expect(doneBefore.count < 200, "the kill came midway")
        port = ServeCommandTests.freePort()
        let second = try serve(port)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        try await waitUp(port)
        let restarted = ContinuousClock.now
        var outcomes: [String: AsyncInvocationRecord] = [:]
        while outcomes.count < 200 {
            for id in ids.values where outcomes[id] == nil {
                if let r = try database.asyncInvocation(id: id), r.state == "succeeded" || r.state == "failed" { outcomes[id] = r }
            }
            try #require(ContinuousClock.now - restarted < .seconds(60), "\(200 - outcomes.count) did not finish after the restart")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(outcomes.values.allSatisfy { $0.state == "succeeded" && $0.result != nil }, "every accepted invocation ended with a result")
        let ran = GaiaServerTests.sharedTemporaryFolder(data: data, function: "jobs") + "/" + ranName
        let runs = String(decoding: FileManager.default.contents(atPath: ran) ?? Data(), as: UTF8.self).split(separator: "\n").map { Int($0)! }
        var count: [Int: Int] = [:]
        for i in runs { count[i, default: 0] += 1 }
        #expect(Set(count.keys) == Set(0..<200), "every one ran")
        let rerunAfterFinishing = ids.filter { doneBefore.contains($0.value) && count[$0.key] != 1 }.map(\.key)
        #expect(rerunAfterFinishing.isEmpty, "finished before the kill, yet run again: \(rerunAfterFinishing)")
        print("async kill test: \(doneBefore.count) finished before the kill, \(runs.count - 200) run twice (cut midway), all 200 ended")
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
    }
}
