import Foundation
import GaiaAnalyzer
import GaiaCore
public import GaiaRuntime
import GaiaStore
import HTTPTypes
public import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat
public import ServiceLifecycle

/// The JSON body of `POST /v1/functions`.
struct DeployBody: Decodable {
    var name: String
    /// Source files by relative path, as UTF-8 text.
    var files: [String: String]
    var mode: ExecutionMode?
    var minScale: Int?
    var maxScale: Int?
    /// A latency objective such as `p95=300ms`.
    var slo: String?
    /// Requests one instance may run at once.
    var concurrency: Int?
    /// `adaptive` or `fixed(600s)`.
    var keepAlive: String?
    /// Pre-warm before the next expected request.
    var prewarm: Bool?

    enum CodingKeys: String, CodingKey {
        case name, files, mode, slo, concurrency, prewarm
        case keepAlive = "keep_alive"
        case minScale = "min_scale"
        case maxScale = "max_scale"
    }
}

/// Gaia's HTTP API over a `FunctionRuntime`.
public enum GaiaServer {
    /// The router with every route of the control and invoke API.
    public static func router(
        runtime: FunctionRuntime, metrics: GaiaMetrics = GaiaMetrics(), maxBodyBytes: Int = 10 * 1024 * 1024
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: await metrics.render(runtime: runtime))))
        }

        router.post("/v1/functions") { request, _ -> Response in
            var request = request
            let data = try await collect(&request, limit: maxBodyBytes)
            let body: DeployBody
            do {
                body = try JSONDecoder().decode(DeployBody.self, from: Data(buffer: data))
            } catch {
                throw PlatformError("bad_request", "the body must be JSON: {\"name\": …, \"files\": {\"handler.py\": \"…\"}} (\(error))", status: 400)
            }
            var slo: SLO?
            if let text = body.slo {
                do { slo = try SLO(parsing: text) } catch { throw PlatformError("invalid_slo", "\(error)", status: 400) }
            }
            var keepAlive: KeepAliveSettings.Mode?
            if let text = body.keepAlive {
                do { keepAlive = try KeepAliveSettings.Mode(parsing: text) } catch { throw PlatformError("invalid_keep_alive", "\(error)", status: 400) }
            }
            let manifest = try await runtime.deploy(DeployRequest(
                name: body.name, files: body.files.mapValues { Array($0.utf8) }, mode: body.mode,
                minScale: body.minScale, maxScale: body.maxScale, slo: slo, concurrency: body.concurrency,
                keepAlive: keepAlive, prewarm: body.prewarm))
            return Response(status: .created, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: try manifest.jsonData())))
        }

        router.get("/v1/functions") { _, _ -> Response in
            var items: [[String: Any]] = []
            for f in await runtime.functions() {
                items.append([
                    "name": f.name, "revision": f.revision, "mode": f.manifest.mode.rawValue,
                    "instances": await runtime.instanceCount(f.name),
                    "deployed_at": iso(f.deployedAt),
                ])
            }
            return json(["functions": items])
        }

        router.get("/v1/functions/{name}") { _, context -> Response in
            let name = try context.parameters.require("name")
            let f = try await runtime.function(name)
            await runtime.flushRecords()
            let manifest = try JSONSerialization.jsonObject(with: try f.manifest.jsonData())
            let totals = try runtime.database.totals(of: name)
            let decisions = try runtime.database.decisions(of: name).suffix(50).map { d -> [String: Any] in
                var item: [String: Any] = ["at": iso(d.at), "kind": d.kind, "from": d.from, "to": d.to, "reason": d.reason]
                if let m = d.measuredMs { item["measured_ms"] = m }
                if let p = d.predictedMs { item["predicted_ms"] = p }
                if let t = d.tookMs { item["took_ms"] = t }
                return item
            }
            let rung = try await runtime.rung(of: name)
            return json([
                "name": f.name, "revision": f.revision, "instances": await runtime.instanceCount(name),
                "deployed_at": iso(f.deployedAt), "manifest": manifest,
                "invocations": totals.invocations, "cold_starts": totals.coldStarts,
                "cost_usd": totals.costUSD, "decisions": Array(decisions),
                "rung": [
                    "current": rung.current.description, "start": rung.start.description, "slo": rung.slo.description,
                    "ladder": rung.rungs.map { r -> [String: Any] in
                        var item: [String: Any] = ["backend": r.description, "measured": rung.measured.contains(r)]
                        if let p = rung.predictedMs[r] { item["predicted_ms"] = p }
                        return item
                    },
                    "parallel_fraction": rung.parallelFraction, "fitted": rung.fitted,
                ] as [String: Any],
            ])
        }

        router.get("/v1/functions/{name}/cost") { _, context -> Response in
            let name = try context.parameters.require("name")
            _ = try await runtime.function(name)
            await runtime.flushRecords()
            let rungs = try runtime.database.costs(of: name)
            let invocations = rungs.reduce(0) { $0 + $1.invocations }
            let billed = rungs.reduce(0) { $0 + $1.billedUSD }
            let prices = runtime.configuration.prices
            return json([
                "function": name, "invocations": invocations, "billed_usd": billed,
                "billed_per_1000_usd": invocations > 0 ? billed / Double(invocations) * 1000 : 0,
                "instance_seconds": rungs.reduce(0) { $0 + $1.instanceSeconds },
                "provider_cost_usd": rungs.reduce(0) { $0 + $1.providerUSD },
                "by_backend": rungs.map { r -> [String: Any] in
                    [
                        "backend": r.backend, "invocations": r.invocations, "successful": r.successful, "billed_usd": r.billedUSD,
                        "billed_per_1000_usd": r.invocations > 0 ? r.billedUSD / Double(r.invocations) * 1000 : 0,
                        "mean_ms": r.meanMs, "instance_seconds": r.instanceSeconds, "provider_cost_usd": r.providerUSD,
                        "price_per_second_usd": Backend(r.backend).map { prices.perSecond($0) } ?? 0,
                    ]
                },
                "prices": [
                    "vcpu_second": prices.vcpuSecond, "memory_gib_second": prices.memoryGiBSecond, "gpu_second": prices.gpuSecond,
                    "memory_gib_per_instance": prices.memoryGiBPerInstance,
                ],
            ])
        }

        router.delete("/v1/functions/{name}") { _, context -> Response in
            try await runtime.remove(try context.parameters.require("name"))
            return Response(status: .noContent)
        }

        router.post("/v1/functions/{name}/invoke") { request, context -> Response in
            let name = try context.parameters.require("name")
            var request = request
            let body = Array(buffer: try await collect(&request, limit: maxBodyBytes))
            let declared = request.headers[.contentType]
            let contentType = declared ?? (body.first == UInt8(ascii: "{") || body.first == UInt8(ascii: "[") ? "application/json" : "application/octet-stream")
            let started = ContinuousClock.now
            let result: PlatformInvocation
            do {
                result = try await runtime.invoke(name, body: body, contentType: contentType)
            } catch {
                if !(error is PlatformError) {
                    let backend = (try? await runtime.rung(of: name))?.current.description ?? "none"
                    metrics.recordInvocation(function: name, backend: backend, status: FunctionRuntime.status(of: error),
                                             duration: ContinuousClock.now - started, coldStart: false)
                }
                throw error
            }
            metrics.recordInvocation(function: name, backend: result.backend.description, status: 200,
                                     duration: ContinuousClock.now - started, coldStart: result.outcome.coldStart,
                                     coldStartWait: .microseconds(Int64(result.outcome.queueMilliseconds * 1000)))
            var headers: HTTPFields = [.contentType: result.outcome.response.contentType]
            headers[HTTPField.Name("Gaia-Backend")!] = result.backend.description
            headers[HTTPField.Name("Gaia-Cold-Start")!] = result.outcome.coldStart ? "true" : "false"
            headers[HTTPField.Name("Gaia-Instance")!] = String(result.outcome.instance)
            headers[HTTPField.Name("Gaia-Revision")!] = String(result.revision)
            headers[HTTPField.Name("Gaia-Duration-Ms")!] = String(format: "%.3f", result.outcome.totalMilliseconds)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: result.outcome.response.body)))
        }

        router.get("/v1/functions/{name}/invocations") { request, context -> Response in
            let name = try context.parameters.require("name")
            _ = try await runtime.function(name)
            await runtime.flushRecords()
            let limit = request.uri.queryParameters.get("limit", as: Int.self) ?? 100
            let records = try runtime.database.invocations(of: name, limit: max(1, min(limit, 10_000))).map {
                [
                    "at": iso($0.at), "revision": $0.revision, "backend": $0.backend,
                    "cold_start": $0.coldStart, "duration_ms": $0.durationMs, "queue_ms": $0.queueMs,
                    "status": $0.status, "cost_usd": $0.costUSD,
                ] as [String: Any]
            }
            return json(["invocations": records])
        }

        router.get("/v1/functions/{name}/logs") { _, context -> Response in
            let text = try await runtime.logs(try context.parameters.require("name"))
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return router
    }

    static func collect(_ request: inout Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.collectBody(upTo: limit)
        } catch {
            throw PlatformError("too_large", "the request body is over the limit of \(limit) bytes", status: 413)
        }
    }

    /// `2026-11-23T12:41:47Z`.
    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error into `{"error": {"code", "message"}}` with the status it stands for.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PlatformError {
            return Self.response(error.status, error.code, error.message)
        } catch let error as PoolError {
            var response = Self.response(FunctionRuntime.status(of: error), "overloaded", error.description)
            response.headers[.retryAfter] = "1"
            return response
        } catch let error as WorkerError {
            let status = FunctionRuntime.status(of: error)  // one mapping for the API and the invocation records
            if case .handlerFailed(let message, let traceback) = error {
                return Self.response(status, "handler_error", message, extra: ["traceback": traceback])
            }
            if case .badRequest = error { return Self.response(status, "bad_request", error.description) }
            return Self.response(status, status == 504 ? "timeout" : "instance_failed", error.description)
        } catch let error as HTTPError {
            return Self.response(Int(error.status.code), "http_error", error.body ?? error.status.reasonPhrase)
        } catch {
            return Self.response(500, "internal", "\(error)")
        }
    }

    static func response(_ status: Int, _ code: String, _ message: String, extra: [String: String] = [:]) -> Response {
        var error: [String: String] = ["code": code, "message": message]
        error.merge(extra) { $1 }
        return GaiaServer.json(["error": error], status: HTTPResponse.Status(code: status))
    }
}

/// The control loop: ticks the runtime's autoscalers and flushes records until shutdown.
public struct ControlLoop: Service {
    let runtime: FunctionRuntime
    let interval: Duration

    /// Creates a loop ticking every `interval`.
    public init(runtime: FunctionRuntime, interval: Duration = .seconds(1)) {
        self.runtime = runtime
        self.interval = interval
    }

    /// Ticks until graceful shutdown, then stops every instance.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await runtime.tick()
            }
        }
        await runtime.shutdown()
    }
}
