import AsyncHTTPClient
import Foundation
import GaiaRuntime
import GaiaStore
import NIOCore
import NIOHTTP1
import Testing

/// `kill -9` under load, three times over one data folder: every invocation a client saw answered
/// (200 with a `Gaia-Invocation-Id`) has its record in the store afterwards, and the server starts
/// again on that folder and finds them. (Records waited for the tick's flush before: 18 to 314 of
/// ~14,000 answered were missing after such a kill.)
@Suite(.serialized)
struct KillNineTests {
    static let gaia = ServeCommandTests.gaia

    @Test(.enabled(if: gaia != nil, "the gaia binary is not built beside the tests (swift build)"))
    func noAcknowledgedInvocationIsLostToKillNine() async throws {
        let gaia = try #require(Self.gaia)
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-kill-\(UUID().uuidString)").path
        let port = ServeCommandTests.freePort()
        var acknowledged: [[String]] = []
        for run in 1...3 {
            let server = try ServeCommandTests.serve(gaia, port: port, data: data, log: "\(data)-\(run).log")
            defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
            try await ServeCommandTests().waitUntilServing("/healthz", port: port, data: data)
            let token = ServeCommandTests.token(data)
            if run == 1 {
                var deploy = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/functions")
                deploy.method = .POST
                if let token { deploy.headers.add(name: "Authorization", value: "Bearer \(token)") }
                deploy.headers.add(name: "Content-Type", value: "application/json")
                deploy.body = .bytes(ByteBuffer(string: #"{"name": "echo", "concurrency": 8, "files": {"handler.py": "def handle(payload, context):\n    return payload\n"}}"#))
                let status = try await HTTPClient.shared.execute(deploy, timeout: .seconds(60)).status.code
                try #require(status == 201, "the deploy answered \(status)")
            }
            // 16 clients invoke as fast as they are answered; the server is killed under them.
            let ids = Answered()
            // A client of its own: the connections the kill cuts are not left in the shared pool.
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<16 {
                        group.addTask {
                            while !Task.isCancelled {
                                let request = ServeCommandTests.invoke("echo", port: port, json: #"{"x": 1}"#, token: token)
                                guard let response = try? await client.execute(request, timeout: .seconds(2)),  // refused connections are retried until then
                                    (try? await response.body.collect(upTo: 1 << 16)) != nil
                                else { return }
                                if response.status == .ok, let id = response.headers.first(name: "Gaia-Invocation-Id") { await ids.add(id) }
                            }
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(1500))
            let workers = ServeCommandTests.descendants(of: server.processIdentifier)
            kill(server.processIdentifier, SIGKILL)
            await load.value  // every client's connection is refused or cut now
            try await client.shutdown()
            server.waitUntilExit()
            for pid in workers { kill(pid, SIGKILL) }  // orphans of the killed server
            let answered = await ids.all
            #expect(answered.count > 100, "run \(run): only \(answered.count) answered under load")
            acknowledged.append(answered)
        }
        // Started again on the folder (each start above did the same for the run before it), the
        // server commits what the journal holds before it serves, and finds every record.
        let server = try ServeCommandTests.serve(gaia, port: port, data: data, log: "\(data)-after.log")
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try await ServeCommandTests().waitUntilServing("/v1/functions/echo", port: port, data: data)
        let database = try GaiaDatabase(path: data + "/gaia.sqlite")
        for (run, answered) in acknowledged.enumerated() {
            let missing = try answered.filter { try database.invocation(id: $0) == nil }
            print("kill -9 run \(run + 1): \(answered.count) answered, \(missing.count) of their records missing after the restart")
            #expect(missing.isEmpty, "run \(run + 1): \(missing.count) of \(answered.count) acknowledged invocations have no record, e.g. \(missing.prefix(3))")
        }
        let stored = try database.invocations(of: "echo", limit: 100_000).compactMap(\.invocationId)
        #expect(stored.count == Set(stored).count, "no record stored twice")
        #expect(try database.integrityCheck() == "ok")
        for id in [acknowledged.first?.first, acknowledged.last?.last].compactMap({ $0 }) {
            let found = try await ServeCommandTests().get("http://127.0.0.1:\(port)/v1/invocations/\(id)", token: ServeCommandTests.token(data))
            #expect(found.status == 200, "GET /v1/invocations/\(id) after the restart: \(found.status)")
        }
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
    }
}

/// The ids of the invocations clients saw answered.
private actor Answered {
    var all: [String] = []
    func add(_ id: String) { all.append(id) }
}
