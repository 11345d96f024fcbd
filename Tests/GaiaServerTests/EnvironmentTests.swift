import Foundation
import GaiaRuntime
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Environment variables and secrets reach a function's instances; a secret's value appears
/// nowhere the platform shows: describe, the list, logs, handler errors, the database.
struct EnvironmentTests {
    static let source = """
        import os

        def handle(payload, context):
            if payload.get("fail"):
                raise RuntimeError("the token " + os.environ["API_TOKEN"] + " was refused")
            print("using", os.environ.get("API_TOKEN"))
            return {"region": os.environ.get("REGION"), "token": os.environ.get("API_TOKEN"), "other": os.environ.get("OTHER")}
        """
    static let secret = "s3cr3t-value-8c1f"

    func deploy(_ client: some TestClientProtocol, _ extra: String, expect status: HTTPResponse.Status = .created) async throws -> String {
        try await client.execute(uri: "/v1/functions", method: .post, body: GaiaServerTests.deployBody("env", Self.source, extra: extra)) {
            #expect($0.status == status, "\(String(buffer: $0.body))")
            return String(buffer: $0.body)
        }
    }

    func invoke(_ client: some TestClientProtocol, _ payload: String = "{}") async throws -> (status: HTTPResponse.Status, body: String) {
        try await client.execute(uri: "/v1/functions/env/invoke", method: .post, body: ByteBuffer(string: payload)) { ($0.status, String(buffer: $0.body)) }
    }

    @Test func variablesAndSecretsReachTheHandlerAndSecretsAreNeverShown() async throws {
        let (app, runtime) = try GaiaServerTests().app()
        try await app.test(.router) { client in
            let manifest = try await deploy(client, #", "env": {"REGION": "eu-west"}, "secrets": {"API_TOKEN": "\#(Self.secret)"}"#)
            #expect(!manifest.contains(Self.secret) && manifest.contains(#""secrets":["API_TOKEN"]"#) && manifest.contains("eu-west"), "\(manifest)")
            let answer = try await invoke(client)
            #expect(answer.body.contains(#""token": "\#(Self.secret)""#) && answer.body.contains(#""region": "eu-west""#), "\(answer.body)")
            let failure = try await invoke(client, #"{"fail": true}"#)
            #expect(failure.status == .internalServerError && !failure.body.contains(Self.secret) && failure.body.contains("[secret API_TOKEN]"), "\(failure.body)")
            for path in ["/v1/functions/env", "/v1/functions", "/v1/functions/env/logs", "/v1/functions/env/invocations", "/v1/functions/env/decisions", "/metrics"] {
                let text = try await client.execute(uri: path, method: .get) { String(buffer: $0.body) }
                #expect(!text.contains(Self.secret), "\(path) shows the secret:\n\(text)")
            }
            let logs = try await client.execute(uri: "/v1/functions/env/logs", method: .get) { String(buffer: $0.body) }
            #expect(logs.contains("using [secret API_TOKEN]"), "\(logs)")
            // Stored apart, owner-only, and in no database file.
            let secrets = runtime.configuration.dataDirectory + "/secrets/env"
            let files = try FileManager.default.contentsOfDirectory(atPath: secrets)
            #expect(files == ["r1.json"])
            let mode = try FileManager.default.attributesOfItem(atPath: "\(secrets)/r1.json")[.posixPermissions] as? Int
            let folderMode = try FileManager.default.attributesOfItem(atPath: secrets)[.posixPermissions] as? Int
            #expect(mode == 0o600 && folderMode == 0o700)
            // A redeploy that names neither keeps both; a settings change too; {} removes them.
            _ = try await deploy(client, "")
            _ = try await client.execute(uri: "/v1/functions/env", method: .patch, body: ByteBuffer(string: #"{"max_scale": 2}"#)) { #expect($0.status == .ok) }
            let kept = try await invoke(client).body
            #expect(kept.contains(Self.secret), "kept across a redeploy and an update")
            let remaining = try FileManager.default.contentsOfDirectory(atPath: secrets)
            #expect(remaining == ["r3.json"], "only the serving revision's secrets are kept")
            _ = try await deploy(client, #", "env": {"OTHER": "x"}, "secrets": {}"#)
            let plain = try await invoke(client)
            #expect(plain.body.contains(#""token": null"#) && plain.body.contains(#""region": null"#) && plain.body.contains(#""other": "x""#), "\(plain.body)")
            try await client.execute(uri: "/v1/functions/env", method: .delete) { #expect($0.status == .noContent) }
            #expect(!FileManager.default.fileExists(atPath: secrets))
        }
        await runtime.shutdown()
    }

    @Test(arguments: [
        (#"{"1BAD": "x"}"#, "not a valid environment variable name"), (#"{"GAIA_HANDLER": "x"}"#, "set by Gaia"),
        (#"{"OMP_NUM_THREADS": "64"}"#, "set by Gaia"), (#"{"A-B": "x"}"#, "not a valid"),
    ])
    func badVariablesAreRefused(variables: String, message: String) async throws {
        let (app, runtime) = try GaiaServerTests().app()
        try await app.test(.router) { client in
            let answer = try await deploy(client, #", "env": \#(variables)"#, expect: .badRequest)
            #expect(answer.contains("invalid_environment") && answer.contains(message), "\(answer)")
            let both = try await deploy(client, #", "env": {"K": "1"}, "secrets": {"K": "2"}"#, expect: .badRequest)
            #expect(both.contains("both an environment variable and a secret"))
        }
        await runtime.shutdown()
    }
}
