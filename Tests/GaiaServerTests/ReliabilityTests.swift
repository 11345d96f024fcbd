import Foundation
import GaiaCore
@testable import GaiaRuntime
import GaiaServer
import GaiaStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import Testing

/// What a reliability audit found (issue 30): a setting the API accepted that crashed the server at
/// every start, instances beyond what the machine holds, invocations without an id, a removal that
/// could not stop a deploy.
struct ReliabilityTests {
    let server = GaiaServerTests()

    func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
    }

    func message(_ response: TestResponse) -> String {
        ((json(response)["error"] as? [String: Any])?["message"] as? String) ?? String(buffer: response.body)
    }

    /// `min_scale` above the default maximum (given alone, at deploy or update, also as `1e3`) and
    /// beyond the machine are refused with the reason; nothing is stored.
    @Test func scaleSettingsOutOfBoundsAreRefusedWithTheReason() async throws {
        let (app, runtime) = try server.app(maxScale: 10)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/functions", method: .post, body: GaiaServerTests.deployBody("echo", GaiaServerTests.echo, extra: #", "min_scale": 11"#)) {
                #expect($0.status == .badRequest)
                #expect(message($0).contains("min scale 11 is above max scale 10 (the platform's default; give max scale too)"), "\(message($0))")
            }
            try await client.execute(uri: "/v1/functions", method: .post, body: GaiaServerTests.deployBody("echo", GaiaServerTests.echo, extra: #", "min_scale": 1e3, "max_scale": 1000"#)) {
                #expect($0.status == .unprocessableContent)
                #expect(message($0).contains("min scale 1000 can never be met: this machine runs at most"), "\(message($0))")
            }
            try await client.execute(uri: "/v1/functions", method: .post, body: GaiaServerTests.deployBody("echo", GaiaServerTests.echo)) {
                #expect($0.status == .created)
            }
            try await client.execute(uri: "/v1/functions/echo", method: .patch, body: ByteBuffer(string: #"{"min_scale": 11}"#)) {
                #expect($0.status == .badRequest)
                #expect(message($0).contains("min scale 11 is above max scale 10"), "\(message($0))")
            }
        }
        #expect(try await runtime.function("echo").manifest.minScale == nil, "the refused update changed nothing")
        await runtime.shutdown()
    }

    /// Every invocation has an id: in `Gaia-Invocation-Id` (of a failure too), in its record (there
    /// when the answer has come, before any tick), in the function's list, and behind
    /// `GET /v1/invocations/{id}` for synchronous invocations as for asynchronous ones.
    @Test func everyInvocationHasAnIdItsRecordIsFoundBy() async throws {
        let (app, runtime) = try server.app()
        let failing = "def handle(payload, context):\n    if payload.get('fail'):\n        raise ValueError('asked to fail')\n    return payload\n"
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/functions", method: .post, body: GaiaServerTests.deployBody("echo", failing)) { #expect($0.status == .created) }
            var ids: [String] = []
            for body in [#"{"a": 1}"#, #"{"fail": true}"#] {
                let response = try await client.execute(
                    uri: "/v1/functions/echo/invoke", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
                let id = try #require(response.headers[HTTPField.Name("Gaia-Invocation-Id")!], "no Gaia-Invocation-Id on \(response.status)")
                #expect(id.hasPrefix("inv_") && id.count == 28)
                await runtime.flushRecords()
                let record = try #require(try runtime.database.invocation(id: id), "the record of \(id) is stored")
                #expect(record.status == Int(response.status.code))
                ids.append(id)
            }
            #expect(Set(ids).count == 2)
            try await client.execute(uri: "/v1/invocations/\(ids[0])", method: .get) { response in
                #expect(response.status == .ok)
                let body = json(response)
                #expect(body["id"] as? String == ids[0] && body["synchronous"] as? Bool == true && body["state"] as? String == "succeeded")
                #expect(body["function"] as? String == "echo" && body["status"] as? Int == 200 && body["backend"] as? String == "cpu-1")
            }
            try await client.execute(uri: "/v1/invocations/\(ids[1])", method: .get) {
                #expect(json($0)["state"] as? String == "failed" && json($0)["status"] as? Int == 500)
            }
            try await client.execute(uri: "/v1/functions/echo/invocations", method: .get) { response in
                let listed = ((json(response)["invocations"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
                #expect(listed == ids.reversed(), "newest first, with their ids: \(listed)")
            }
            try await client.execute(uri: "/v1/invocations/inv_000000000000000000000000", method: .get) { #expect($0.status == .notFound) }
        }
        await runtime.shutdown()
    }
}
