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
import Testing

/// Bearer tokens with scopes on every route: 401 without a valid token, 403 without the scope.
struct AuthTests {
    struct Route: CustomStringConvertible {
        var method: HTTPRequest.Method
        var uri: String
        var body = ""
        /// nil: open to everyone.
        var scope: Scope?
        var description: String { "\(method) \(uri)" }
    }

    /// Every route of the API (a test below checks the list against the router), with its scope.
    static let routes: [Route] = [
        Route(method: .get, uri: "/healthz", scope: nil),
        Route(method: .get, uri: "/readyz", scope: nil),
        Route(method: .get, uri: "/", scope: nil),
        Route(method: .get, uri: "/dashboard/app.js", scope: nil),
        Route(method: .get, uri: "/metrics", scope: .read),
        Route(method: .get, uri: "/openapi.json", scope: .read),
        Route(method: .get, uri: "/v1/machine", scope: .read),
        Route(method: .get, uri: "/v1/functions", scope: .read),
        Route(method: .get, uri: "/v1/functions/f", scope: .read),
        Route(method: .get, uri: "/v1/functions/f/cost", scope: .read),
        Route(method: .get, uri: "/v1/functions/f/source", scope: .read),
        Route(method: .get, uri: "/v1/functions/f/decisions", scope: .read),
        Route(method: .get, uri: "/v1/functions/f/invocations", scope: .read),
        Route(method: .get, uri: "/v1/functions/f/logs", scope: .read),
        Route(method: .post, uri: "/v1/functions/f/invoke", body: "{}", scope: .invoke),
        Route(method: .post, uri: "/v1/functions/f/invoke/summarize", body: "{}", scope: .invoke),
        Route(method: .get, uri: "/v1/invocations/inv_x", scope: .invoke),
        Route(method: .post, uri: "/v1/functions", body: "{}", scope: .admin),
        Route(method: .patch, uri: "/v1/functions/f", body: "{}", scope: .admin),
        Route(method: .delete, uri: "/v1/functions/f", scope: .admin),
        Route(method: .post, uri: "/v1/tokens", body: "{}", scope: .admin),
        Route(method: .get, uri: "/v1/tokens", scope: .admin),
        Route(method: .delete, uri: "/v1/tokens/nope", scope: .admin),
    ]

    func setUp() throws -> (Application<RouterResponder<BasicRequestContext>>, Tokens) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-auth-\(UUID().uuidString)").path
        let database = try GaiaDatabase.inMemory()
        let runtime = FunctionRuntime(configuration: RuntimeConfiguration(dataDirectory: dir, python: "/usr/bin/python3"), database: database)
        let tokens = try Tokens(database: database)
        return (Application(router: GaiaServer.router(runtime: runtime, tokens: tokens)), tokens)
    }

    func code(_ response: TestResponse) -> String? {
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
        return (object?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func everyRouteAnswers401WithoutAValidTokenAnd403WithoutItsScope() async throws {
        let (app, tokens) = try setUp()
        let read = try tokens.create(name: "r", scopes: [.read]).token
        let invoke = try tokens.create(name: "i", scopes: [.invoke]).token
        let admin = try tokens.create(name: "a", scopes: [.admin]).token
        try await app.test(.router) { client in
            for route in Self.routes {
                let callers: [(String, String?, Bool)] = [
                    ("no token", nil, route.scope == nil), ("a wrong token", "gaia_wrong", route.scope == nil),
                    ("read", read, route.scope == nil || route.scope == .read), ("invoke", invoke, route.scope == nil || route.scope == .invoke),
                    ("admin", admin, true),
                ]
                for (who, token, allowed) in callers {
                    var headers: HTTPFields = [:]
                    if let token { headers[.authorization] = "Bearer \(token)" }
                    try await client.execute(uri: route.uri, method: route.method, headers: headers, body: ByteBuffer(string: route.body)) { response in
                        let status = Int(response.status.code)
                        if allowed {
                            #expect(status != 401 && status != 403, "\(route) with \(who): \(status)")
                        } else {
                            let expected = token == nil || token == "gaia_wrong" ? 401 : 403
                            #expect(status == expected, "\(route) with \(who): \(status), expected \(expected)")
                            #expect(code(response) == (expected == 401 ? "unauthorized" : "forbidden"))
                        }
                    }
                }
            }
        }
    }

    /// A function deployed public answers invocations without a token (and with a token of
    /// another scope); everything else about it, an asynchronous invocation included, still needs one.
    @Test func aPublicFunctionIsInvokedWithoutAToken() async throws {
        let python = try #require(GaiaServerTests.python)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-auth-\(UUID().uuidString)").path
        let database = try GaiaDatabase.inMemory()
        let runtime = FunctionRuntime(configuration: RuntimeConfiguration(dataDirectory: dir, python: python), database: database)
        let tokens = try Tokens(database: database)
        let admin = try tokens.create(name: "admin", scopes: [.admin]).token
        let reader = try tokens.create(name: "reader", scopes: [.read]).token
        let app = Application(router: GaiaServer.router(runtime: runtime, tokens: tokens))
        try await app.test(.router) { client in
            let bearer: HTTPFields = [.authorization: "Bearer \(admin)"]
            for (name, extra) in [("open", #", "public": true"#), ("closed", "")] {
                try await client.execute(uri: "/v1/functions", method: .post, headers: bearer, body: GaiaServerTests.deployBody(name, GaiaServerTests.echo, extra: extra)) {
                    #expect($0.status == .created, "\(String(buffer: $0.body))")
                }
            }
            try await client.execute(uri: "/v1/functions/open/invoke", method: .post, body: ByteBuffer(string: #"{"x": 1}"#)) {
                #expect($0.status == .ok && String(buffer: $0.body) == #"{"x": 1}"#)
            }
            try await client.execute(uri: "/v1/functions/open/invoke", method: .post, headers: [.authorization: "Bearer \(reader)"], body: ByteBuffer(string: "{}")) {
                #expect($0.status == .ok, "a token without the invoke scope may call a public function too")
            }
            try await client.execute(uri: "/v1/functions/closed/invoke", method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/functions/closed/invoke", method: .post, headers: [.authorization: "Bearer \(reader)"], body: ByteBuffer(string: "{}")) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/v1/functions/open/invoke?async=true", method: .post, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .unauthorized && String(buffer: $0.body).contains("asynchronous one needs a token"))
            }
            for path in ["/v1/functions/open", "/v1/functions/open/logs", "/v1/functions/open/source"] {
                try await client.execute(uri: path, method: .get) { #expect($0.status == .unauthorized, "\(path)") }
            }
            // A settings change keeps it public.
            try await client.execute(uri: "/v1/functions/open", method: .patch, headers: bearer, body: ByteBuffer(string: #"{"max_scale": 2}"#)) {
                #expect($0.status == .ok && String(buffer: $0.body).contains(#""public":true"#))
            }
            try await client.execute(uri: "/v1/functions/open/invoke", method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .ok) }
        }
        await runtime.shutdown()
    }

    @Test func theRouteListIsTheRouters() throws {
        let (_, tokens) = try setUp()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-auth-\(UUID().uuidString)").path
        let runtime = FunctionRuntime(configuration: RuntimeConfiguration(dataDirectory: dir, python: "/usr/bin/python3"), database: try GaiaDatabase.inMemory())
        let router = GaiaServer.router(runtime: runtime, tokens: tokens)
        let registered = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description.hasPrefix("/") ? "" : "/")\($0.path)" })
        let listed = Set(Self.routes.map { route in
            let path = route.uri.replacingOccurrences(of: "/v1/functions/f", with: "/v1/functions/{name}")
                .replacingOccurrences(of: "/dashboard/app.js", with: "/dashboard/{file}").replacingOccurrences(of: "/v1/tokens/nope", with: "/v1/tokens/{id}")
                .replacingOccurrences(of: "/v1/invocations/inv_x", with: "/v1/invocations/{id}")
                .replacingOccurrences(of: "/invoke/summarize", with: "/invoke/{api}")
            return "\(route.method.rawValue) \(path)"
        })
        #expect(registered == listed, "not covered: \(registered.subtracting(listed).sorted())")
    }

    @Test func aBrowserSignsInOnceWithACookieAndARevokedTokenIsRefused() async throws {
        let (app, tokens) = try setUp()
        let reader = try tokens.create(name: "dashboard", scopes: [.read]).token
        let admin = try tokens.create(name: "a", scopes: [.admin]).token
        try await app.test(.router) { client in
            try await client.execute(uri: "/?token=\(reader)", method: .get) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/")
                let cookie = response.headers[.setCookie] ?? ""
                #expect(cookie.hasPrefix("gaia_token=\(reader);") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            }
            try await client.execute(uri: "/?token=gaia_bogus", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/functions", method: .get, headers: [.cookie: "theme=dark; gaia_token=\(reader)"]) {
                #expect($0.status == .ok)
            }
            // Tokens through the API: made with scopes, listed without the secret, revoked.
            let made = try await client.execute(
                uri: "/v1/tokens", method: .post, headers: [.authorization: "Bearer \(admin)"],
                body: ByteBuffer(string: #"{"name": "ci", "scopes": ["invoke"]}"#)) { response in
                #expect(response.status == .created)
                return try APICoding.decoder().decode(CreatedToken.self, from: Data(buffer: response.body))
            }
            #expect(made.info.scopes == ["invoke"] && made.token.hasPrefix("gaia_") && tokens.scopes(of: made.token) == [.invoke])
            try await client.execute(uri: "/v1/tokens", method: .get, headers: [.authorization: "Bearer \(admin)"]) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(made.info.id) && !text.contains(made.token), "listed, never shown again")
            }
            try await client.execute(
                uri: "/v1/tokens", method: .post, headers: [.authorization: "Bearer \(admin)"], body: ByteBuffer(string: #"{"name": "x", "scopes": ["root"]}"#)
            ) { #expect($0.status == .badRequest && code($0) == "invalid_scope") }
            try await client.execute(uri: "/v1/tokens/\(made.info.id)", method: .delete, headers: [.authorization: "Bearer \(admin)"]) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/v1/functions/f/invoke", method: .post, headers: [.authorization: "Bearer \(made.token)"]) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test func theAdminTokenFileIsOwnerOnlyAndKeptAcrossRestarts() throws {
        let database = try GaiaDatabase.inMemory()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-admin-\(UUID().uuidString).token").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let first = try Tokens(database: database).ensureAdmin(file: file)
        #expect(first.created && first.token.hasPrefix("gaia_"))
        let permissions = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        let again = try Tokens(database: database).ensureAdmin(file: file)
        #expect(!again.created && again.token == first.token, "a restart keeps the token")
        #expect(try database.tokens().allSatisfy { $0.hash != first.token && !$0.hash.contains("gaia_") }, "only hashes are stored")
        // A token file from another database (the server's data was reset): a new one replaces it.
        let other = try Tokens(database: try GaiaDatabase.inMemory()).ensureAdmin(file: file)
        #expect(other.created && other.token != first.token)
    }
}
