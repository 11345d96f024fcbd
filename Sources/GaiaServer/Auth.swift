import Crypto
import Foundation
import GaiaAPI
import GaiaRuntime
public import GaiaStore
import HTTPTypes
import Hummingbird
import Synchronization

/// What a token may do. `admin` may do everything.
public enum Scope: String, Sendable, Hashable, CaseIterable, Codable {
    /// Deploy, change, delete; manage tokens.
    case admin
    /// Invoke functions.
    case invoke
    /// Read: list, describe, costs, invocations, logs, decisions, source, the machine, metrics.
    case read
}

/// The API's bearer tokens: made here (random, 256 bits), stored only as SHA-256 hashes in the
/// database, checked against an in-memory copy of the hashes on each request.
public final class Tokens: Sendable {
    let database: GaiaDatabase
    private let byHash: Mutex<[String: Set<Scope>]>

    /// The tokens of a database.
    public init(database: GaiaDatabase) throws {
        self.database = database
        var byHash: [String: Set<Scope>] = [:]
        for record in try database.tokens() { byHash[record.hash] = Self.scopes(record.scopes) }
        self.byHash = Mutex(byHash)
    }

    static func scopes(_ text: String) -> Set<Scope> { Set(text.split(separator: ",").compactMap { Scope(rawValue: String($0)) }) }

    /// Hex SHA-256 of a token.
    static func hash(_ token: String) -> String { SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined() }

    /// The scopes of a token; nil when it is not one of these.
    public func scopes(of token: String) -> Set<Scope>? {
        let hash = Self.hash(token)
        return byHash.withLock { $0[hash] }
    }

    /// Makes a token: its record is stored, the token itself is returned once and kept nowhere.
    public func create(name: String, scopes: Set<Scope>) throws -> (record: TokenRecord, token: String) {
        var secret = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in secret.indices { secret[i] = UInt8.random(in: 0...255, using: &rng) }
        let token = "gaia_" + Data(secret).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let hash = Self.hash(token)
        let record = TokenRecord(
            id: String(hash.prefix(12)), name: name, scopes: Scope.allCases.filter(scopes.contains).map(\.rawValue).joined(separator: ","),
            hash: hash)
        try database.add(record)
        byHash.withLock { $0[record.hash] = scopes }
        return (record, token)
    }

    /// Every token's record.
    public func list() throws -> [TokenRecord] { try database.tokens() }

    /// Revokes a token by id; false when there is none.
    public func revoke(id: String) throws -> Bool {
        guard let record = try database.tokens().first(where: { $0.id == id }) else { return false }
        try database.deleteToken(id: id)
        byHash.withLock { _ = $0.removeValue(forKey: record.hash) }
        return true
    }

    /// The admin token in `file` when it is still valid, else a new one written there (owner-only):
    /// what the CLI on this machine reads. Returns the token and whether it was made now.
    public func ensureAdmin(file: String) throws -> (token: String, created: Bool) {
        if let data = FileManager.default.contents(atPath: file) {
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if scopes(of: token)?.contains(.admin) == true { return (token, false) }
        }
        let (_, token) = try create(name: "admin (\(file))", scopes: [.admin])
        _ = FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600])
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: file))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        return (token, true)
    }
}

/// Checks every request's token against the scope its route needs: `/healthz` and the dashboard's
/// static files are open; the rest need `Authorization: Bearer TOKEN` (or the dashboard's cookie).
/// No token or an unknown one: 401; a token without the scope: 403. A function deployed public
/// may be invoked with no token (synchronously: an asynchronous invocation's outcome is read with
/// a token, so one is needed to start it too).
struct Authenticate<Context: RequestContext>: RouterMiddleware {
    let tokens: Tokens
    /// Whether a function may be invoked without a token.
    let isPublic: @Sendable (String) async -> Bool
    static var cookie: String { "gaia_token" }

    /// The scope a request needs; nil when it is open.
    static func scope(_ method: HTTPRequest.Method, _ path: String) -> Scope? {
        if path == "/healthz" || path == "/readyz" || path == "/" || path.hasPrefix("/dashboard/") { return nil }
        if path.hasPrefix("/v1/tokens") { return .admin }
        if method == .post && invokedFunction(path) != nil { return .invoke }
        if path.hasPrefix("/v1/invocations/") { return .invoke }  // an asynchronous invocation's outcome, for whoever may invoke
        if method == .get || method == .head { return .read }
        return .admin
    }

    /// `NAME` of `/v1/functions/NAME/invoke` (or `…/invoke/API`, one method of a service).
    static func invokedFunction(_ path: String) -> String? {
        let parts = path.split(separator: "/")
        guard parts.count == 4 || parts.count == 5, parts[0] == "v1", parts[1] == "functions", parts[3] == "invoke" else { return nil }
        return String(parts[2])
    }

    static func token(in request: Request) -> String? {
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        for field in request.headers[values: .cookie] {
            for pair in field.split(separator: ";") {
                let kv = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == cookie { return String(kv[1]) }
            }
        }
        return nil
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let needed = Self.scope(request.method, request.uri.path) else { return try await next(request, context) }
        let presented = Self.token(in: request)
        let scopes = presented.flatMap(tokens.scopes(of:))
        if let scopes, scopes.contains(.admin) || scopes.contains(needed) { return try await next(request, context) }
        if needed == .invoke, let name = Self.invokedFunction(request.uri.path), await isPublic(name) {
            let prefer = request.headers[values: HTTPField.Name("Prefer")!].joined(separator: ",")
            guard !prefer.contains("respond-async") && request.uri.queryParameters.get("async") != "true" else {
                throw PlatformError("unauthorized", "\(name) is public for synchronous invocations; an asynchronous one needs a token", status: 401)
            }
            return try await next(request, context)
        }
        guard presented != nil else {
            throw PlatformError(
                "unauthorized", "this route needs a token: send Authorization: Bearer TOKEN (gaia serve wrote an admin token to DATA_DIR/admin.token; the CLI reads GAIA_TOKEN or .gaia/admin.token)",
                status: 401)
        }
        guard let scopes else {
            throw PlatformError("unauthorized", "the token is not valid here (revoked, or made by another server)", status: 401)
        }
        throw PlatformError(
            "forbidden", "\(request.method) \(request.uri.path.prefix(200)) needs the '\(needed.rawValue)' scope; this token has \(scopes.map(\.rawValue).sorted().joined(separator: ", "))",
            status: 403)
    }
}
