import Foundation
import GaiaAPI
import GaiaAnalyzer
import GaiaCore
public import GaiaRuntime
import GaiaStore
import HTTPTypes
public import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat

/// Gaia's HTTP API over a `FunctionRuntime`: the platform's routes (`/healthz`, `/metrics`,
/// `/openapi.json`) and the functions' routes (`/v1/functions…`), each a `RouteCollection`.
public enum GaiaServer {
    /// The router with every route of the control and invoke API.
    /// With `tokens`, every route but `/healthz` and the dashboard's files needs a token with the
    /// route's scope; without, the API is open (tests, and `gaia serve --no-auth` on loopback).
    public static func router(
        runtime: FunctionRuntime, metrics: GaiaMetrics = GaiaMetrics(), maxBodyBytes: Int = 10 * 1024 * 1024, tokens: Tokens? = nil
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrors())
        if let tokens { router.add(middleware: Authenticate(tokens: tokens) { await runtime.isPublic($0) }) }
        router.addRoutes(platformRoutes(runtime: runtime, metrics: metrics))
        router.addRoutes(Dashboard.routes(tokens: tokens))
        router.addRoutes(tokenRoutes(tokens), atPath: "/v1/tokens")
        router.addRoutes(FunctionRoutes(runtime: runtime, metrics: metrics, maxBodyBytes: maxBodyBytes).collection, atPath: "/v1/functions")
        router.get("/v1/invocations/{id}") { _, context -> Response in
            let id = try context.parameters.require("id")
            if let record = try runtime.asyncInvocationRecord(id: id) { return jsonResponse(asyncDescription(record)) }
            // A synchronous invocation: its record (journaled before its answer left).
            guard let record = try await runtime.invocationRecord(id: id) else {
                throw PlatformError(
                    "not_found", "no invocation '\(id.prefix(60))' (asynchronous ones are kept for a day after they finish, records of the others for good)",
                    status: 404)
            }
            return jsonResponse(description(of: record))
        }
        return router
    }

    /// A synchronous invocation as the API describes it: its record (no result: the caller had it).
    static func description(of r: InvocationRecord) -> AsyncInvocation {
        let id = r.invocationId ?? ""
        return AsyncInvocation(
            id: id, function: r.function, state: r.status == 200 ? "succeeded" : "failed", attempts: 1, statusURL: "/v1/invocations/\(id)",
            createdAt: r.at, finishedAt: r.at.addingTimeInterval(r.durationMs / 1000), status: r.status, synchronous: true,
            backend: r.backend, durationMs: r.durationMs, coldStart: r.coldStart)
    }

    /// An asynchronous invocation as the API describes it.
    static func asyncDescription(_ r: AsyncInvocationRecord) -> AsyncInvocation {
        var result: String?
        var encoding: String?
        if let bytes = r.result {
            if let text = String(data: bytes, encoding: .utf8) {
                (result, encoding) = (text, "utf-8")
            } else {
                (result, encoding) = (bytes.base64EncodedString(), "base64")
            }
        }
        return AsyncInvocation(
            id: r.id, function: r.function, state: r.state, attempts: r.attempts, statusURL: "/v1/invocations/\(r.id)", createdAt: r.createdAt,
            finishedAt: r.finishedAt, status: r.status, result: result, resultEncoding: encoding, contentType: r.resultContentType,
            error: r.error, expiresAt: r.expiresAt)
    }

    /// `/healthz`, `/readyz`, `/metrics` and `/openapi.json`.
    static func platformRoutes(runtime: FunctionRuntime, metrics: GaiaMetrics) -> RouteCollection<BasicRequestContext> {
        let routes = RouteCollection()
        routes.get("/healthz") { _, _ in jsonResponse(Health()) }
        routes.get("/readyz") { _, _ -> Response in
            let waiting = await runtime.startupPending()
            return jsonResponse(waiting.isEmpty ? Health(status: "ready") : Health(status: "starting", waiting: waiting), status: waiting.isEmpty ? .ok : .serviceUnavailable)
        }
        routes.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: await metrics.render(runtime: runtime))))
        }
        routes.get("/v1/machine") { _, _ in await machine(runtime) }
        routes.get("/openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try openAPIDocument())))
        }
        return routes
    }

    /// `POST /v1/tokens`, `GET /v1/tokens`, `DELETE /v1/tokens/{id}` (admin).
    static func tokenRoutes(_ tokens: Tokens?) -> RouteCollection<BasicRequestContext> {
        let routes = RouteCollection()
        @Sendable func required() throws -> Tokens {
            guard let tokens else { throw PlatformError("auth_off", "this server runs without authentication (--no-auth): there are no tokens", status: 404) }
            return tokens
        }
        @Sendable func info(_ r: TokenRecord) -> TokenInfo {
            TokenInfo(id: r.id, name: r.name, scopes: r.scopes.split(separator: ",").map(String.init), createdAt: r.createdAt)
        }
        routes.post { request, _ -> Response in
            let tokens = try required()
            var request = request
            let data = try await collect(&request, limit: 64 * 1024)
            guard let body = try? APICoding.decoder().decode(CreateToken.self, from: Data(buffer: data)) else {
                throw PlatformError("bad_request", #"the body must be JSON: {"name": "ci", "scopes": ["invoke"]}"#, status: 400)
            }
            let scopes = Set(body.scopes.compactMap(Scope.init(rawValue:)))
            guard !body.scopes.isEmpty, scopes.count == Set(body.scopes).count else {
                throw PlatformError("invalid_scope", "scopes are admin, invoke and read (at least one); got \(body.scopes)", status: 400)
            }
            guard (1...100).contains(body.name.count) else { throw PlatformError("bad_request", "a token's name has 1 to 100 characters", status: 400) }
            let (record, token) = try tokens.create(name: body.name, scopes: scopes)
            return jsonResponse(CreatedToken(info: info(record), token: token), status: .created)
        }
        routes.get { _, _ in jsonResponse(TokenList(tokens: try required().list().map(info))) }
        routes.delete("{id}") { _, context -> Response in
            guard try required().revoke(id: try context.parameters.require("id")) else {
                throw PlatformError("not_found", "no token with that id (gaia token ls lists them)", status: 404)
            }
            return Response(status: .noContent)
        }
        return routes
    }

    /// This server's devices and ladder, with the functions on each rung now.
    static func machine(_ runtime: FunctionRuntime) async -> Response {
        let machine = runtime.configuration.machine
        var onRung: [Backend: (functions: [String], instances: Int)] = [:]
        for f in await runtime.functions() {
            guard let rung = try? await runtime.rung(of: f.name) else { continue }
            onRung[rung.current, default: ([], 0)].functions.append(f.name)
            onRung[rung.current, default: ([], 0)].instances += await runtime.instanceCount(f.name)
        }
        let ladder = runtime.configuration.ladder.rungs
        let rungs = ladder + onRung.keys.filter { !ladder.contains($0) }.sorted()
        return jsonResponse(MachineDescription(
            cpus: machine.cpus,
            gpus: machine.gpus.map {
                .init(
                    index: $0.index, name: $0.name, uuid: $0.uuid, memoryTotalMiB: $0.memoryTotalMiB, memoryUsedMiB: $0.memoryUsedMiB,
                    utilizationPercent: $0.utilizationPercent)
            },
            gpuProblem: machine.gpuProblem, mps: machine.mps,
            ladder: rungs.map {
                .init(
                    backend: $0.description, pricePerSecondUSD: runtime.configuration.prices.perSecond($0),
                    functions: onRung[$0]?.functions ?? [], instances: onRung[$0]?.instances ?? 0)
            }, cluster: runtime.configuration.cluster?.summary))
    }

    /// The OpenAPI 3.1 document of the whole API (a resource of this target).
    public static func openAPIDocument() throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = try? Data(contentsOf: url) else {
            throw PlatformError("internal", "the OpenAPI document is missing from GaiaServer's resources", status: 500)
        }
        return Array(data)
    }

    /// Reads a request body up to `limit` bytes; 413 past it.
    static func collect(_ request: inout Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.collectBody(upTo: limit)
        } catch {
            throw PlatformError("too_large", "the request body is over the limit of \(limit) bytes", status: 413)
        }
    }
}

/// Server-Sent Events framing (the WHATWG `text/event-stream` format).
enum ServerSentEvents {
    /// One chunk as a message: each of its lines after `data: `, so that a client joining them
    /// with newlines (as the format says) gets the chunk back, final newline included; CR and CRLF
    /// become LF, and bytes that are not UTF-8 are replaced.
    static func data(_ chunk: [UInt8]) -> [UInt8] {
        let text = String(decoding: chunk, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var out = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { out += "data: \(line)\n" }
        return Array((out + "\n").utf8)
    }

    /// A named event whose data is `object` as one line of JSON.
    static func event(_ name: String, _ object: [String: any Sendable]) -> [UInt8] {
        event(name, json: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8))
    }

    /// A named event whose data is `json`, one line of JSON (as the API's encoder writes it).
    static func event(_ name: String, json: Data) -> [UInt8] {
        Array("event: \(name)\ndata: ".utf8) + Array(json) + Array("\n\n".utf8)
    }
}
