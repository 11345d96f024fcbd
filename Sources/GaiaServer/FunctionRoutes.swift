import Foundation
import GaiaAPI
import GaiaAnalyzer
import GaiaCore
import GaiaRuntime
import GaiaStore
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat

/// The routes under `/v1/functions`: deploy, list, describe, update, cost, source, decisions,
/// invoke, invocations, logs, remove.
struct FunctionRoutes {
    let runtime: FunctionRuntime
    let metrics: GaiaMetrics
    let maxBodyBytes: Int

    var collection: RouteCollection<BasicRequestContext> {
        let routes = RouteCollection()
        routes.post { request, _ in try await deploy(request) }
        routes.get { _, _ in await list() }
        routes.get("{name}") { _, context in try await describe(try context.parameters.require("name")) }
        routes.delete("{name}") { _, context -> Response in
            try await runtime.remove(try context.parameters.require("name"))
            return Response(status: .noContent)
        }
        routes.patch("{name}") { request, context in try await update(try context.parameters.require("name"), request) }
        routes.get("{name}/cost") { _, context in try await cost(try context.parameters.require("name")) }
        routes.get("{name}/source") { _, context in try await source(try context.parameters.require("name")) }
        routes.get("{name}/decisions") { request, context in
            try await decisions(try context.parameters.require("name"), limit: request.uri.queryParameters.get("limit", as: Int.self))
        }
        routes.post("{name}/invoke") { request, context in try await invoke(try context.parameters.require("name"), request) }
        routes.post("{name}/invoke/{api}") { request, context in
            try await invoke(try context.parameters.require("name"), request, api: try context.parameters.require("api"))
        }
        routes.get("{name}/invocations") { request, context in
            try await invocations(try context.parameters.require("name"), limit: request.uri.queryParameters.get("limit", as: Int.self))
        }
        routes.get("{name}/logs") { request, context -> Response in
            var since: String?
            if let text = request.uri.queryParameters.get("since") {
                guard let stamp = LogLines.stamp(parsing: text) else {
                    throw PlatformError("invalid_since", "since must be an ISO 8601 time such as 2026-12-07T23:40:01Z or 2026-12-07T23:40:01.123Z, not '\(text)'", status: 400)
                }
                since = stamp
            }
            let text = try await runtime.logs(try context.parameters.require("name"), since: since)
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return routes
    }

    func deploy(_ request: Request) async throws -> Response {
        var request = request
        let data = try await GaiaServer.collect(&request, limit: maxBodyBytes)
        let (body, files) = try DeployUpload.read(
            contentType: request.headers[.contentType], query: request.uri.queryParameters.map { (String($0.key), String($0.value)) },
            body: data, maxBytes: runtime.configuration.maxUploadBytes)
        var slo: SLO?
        if let text = body.slo {
            do { slo = try SLO(parsing: text) } catch { throw PlatformError("invalid_slo", "\(error)", status: 400) }
        }
        var keepAlive: KeepAliveSettings.Mode?
        if let text = body.keepAlive {
            do { keepAlive = try KeepAliveSettings.Mode(parsing: text) } catch { throw PlatformError("invalid_keep_alive", "\(error)", status: 400) }
        }
        var rung: Backend?
        if let text = body.rung {
            guard let parsed = Backend(text) else {
                throw PlatformError(
                    "invalid_rung", "'\(text)' is not a rung: write cpu-N (N cores), gpuN (a whole GPU), gpuN-SM (an SM share), with qQ for a time quota (gpu0-50q30, cpu-1q30)",
                    status: 400)
            }
            rung = parsed
        }
        var deploy = DeployRequest(
            name: body.name, files: files, mode: body.mode,
            minScale: body.minScale, maxScale: body.maxScale, slo: slo, concurrency: body.concurrency,
            keepAlive: keepAlive, prewarm: body.prewarm, rung: rung, maxBatch: body.maxBatch, environment: body.env, secrets: body.secrets)
        deploy.publicInvoke = body.isPublic
        deploy.timeoutSeconds = body.timeoutSeconds
        guard request.headers[.accept]?.contains("text/event-stream") == true else {
            return jsonResponse(try await runtime.deploy(deploy), status: .created)
        }
        // Progress as Server-Sent Events (pip's output among it), then the manifest or the error.
        let (events, sink) = AsyncStream<[UInt8]>.makeStream()
        deploy.progress = { sink.yield(ServerSentEvents.data(Array(($0 + "\n").utf8))) }
        let runtime = runtime
        Task {
            do {
                let manifest = try await runtime.deploy(deploy)
                sink.yield(ServerSentEvents.event("done", json: try APICoding.encoder().encode(manifest)))
            } catch {
                let platform = error as? PlatformError ?? PlatformError("internal", "\(error)", status: 500)
                let body = APIErrorBody(code: platform.code, message: platform.message)
                sink.yield(ServerSentEvents.event("error", json: (try? APICoding.encoder().encode(body)) ?? Data("{}".utf8)))
            }
            sink.finish()
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: ResponseBody { writer in
            for await event in events { try await writer.write(ByteBuffer(bytes: event)) }
            try await writer.finish(nil)
        })
    }

    func list() async -> Response {
        var items: [FunctionList.Item] = []
        let now = Date()
        let functions = await runtime.functions()
        let windows = [60.0, 3600.0]
        let activities = await runtime.activity(of: functions.map(\.name), over: windows, until: now)
        func activity(_ name: String, window: Int) -> FunctionList.Activity {
            let a = activities[name]?[window] ?? Activity()
            return .init(
                seconds: windows[window], invocations: a.invocations, errors: a.errors, coldStarts: a.coldStarts, costUSD: a.costUSD,
                p50Ms: a.p50Ms, p95Ms: a.p95Ms, p99Ms: a.p99Ms)
        }
        for f in functions {
            let rung = try? await runtime.rung(of: f.name)
            items.append(FunctionList.Item(
                name: f.name, revision: f.revision, mode: f.manifest.mode, confidence: f.manifest.confidence,
                backend: rung?.current.description ?? "-", instances: await runtime.instanceCount(f.name), deployedAt: f.deployedAt,
                slo: rung?.slo ?? f.manifest.slo ?? .default, lastMinute: activity(f.name, window: 0),
                lastHour: activity(f.name, window: 1)))
        }
        return jsonResponse(FunctionList(functions: items))
    }

    func describe(_ name: String) async throws -> Response {
        let f = try await runtime.function(name)
        let totals = try await runtime.totals(of: name)
        let decisions = try runtime.decisionRecords(of: name, limit: 50).map(Self.decision)
        let rung = try await runtime.rung(of: name)
        let state = FunctionDescription.RungState(
            current: rung.current.description, start: rung.start.description, slo: rung.slo.description,
            ladder: rung.rungs.map {
                .init(backend: $0.description, predictedMs: rung.predictedMs[$0], measured: rung.measured.contains($0), failed: rung.failed[$0])
            },
            parallelFraction: rung.parallelFraction, fitted: rung.fitted, predictorErrorPercent: rung.predictorError,
            demandForecast: rung.demandForecast)
        return jsonResponse(FunctionDescription(
            name: f.name, revision: f.revision, instances: await runtime.instanceCount(name), deployedAt: f.deployedAt,
            manifest: f.manifest, invocations: totals.invocations, coldStarts: totals.coldStarts, costUSD: totals.costUSD,
            rung: state, decisions: decisions))
    }

    static func decision(_ d: DecisionRecord) -> FunctionDescription.Decision {
        FunctionDescription.Decision(
            at: d.at, kind: d.kind, from: d.from, to: d.to, reason: d.reason, measuredMs: d.measuredMs, predictedMs: d.predictedMs,
            tookMs: d.tookMs)
    }

    func update(_ name: String, _ request: Request) async throws -> Response {
        var request = request
        let data = try await GaiaServer.collect(&request, limit: 64 * 1024)
        let body: FunctionUpdate
        do {
            body = try APICoding.decoder().decode(FunctionUpdate.self, from: Data(buffer: data))
        } catch {
            throw PlatformError(
                "bad_request", "the body must be JSON: {\"slo\": …, \"mode\": …, \"min_scale\": …, \"max_scale\": …, \"timeout_seconds\": …} (\(error))", status: 400)
        }
        guard !body.isEmpty else {
            throw PlatformError("bad_request", "nothing to change: give slo, mode, min_scale, max_scale or timeout_seconds", status: 400)
        }
        var change = SettingsChange(minScale: body.minScale, maxScale: body.maxScale, timeoutSeconds: body.timeoutSeconds)
        if let text = body.slo {
            if text == "default" {
                change.slo = .platformDefault
            } else {
                do { change.slo = .set(try SLO(parsing: text)) } catch { throw PlatformError("invalid_slo", "\(error)", status: 400) }
            }
        }
        if let text = body.mode {
            if text == "auto" {
                change.mode = .detected
            } else if let mode = ExecutionMode(rawValue: text) {
                change.mode = .force(mode)
            } else {
                throw PlatformError(
                    "invalid_mode", "'\(text)' is not a mode: write cpu, cpu_preferred, gpu_preferred, gpu, or auto to run in the detected mode",
                    status: 400)
            }
        }
        return jsonResponse(try await runtime.update(name, change))
    }

    func source(_ name: String) async throws -> Response {
        let f = try await runtime.function(name)
        let files = try await runtime.files(of: name).compactMapValues { String(validating: $0, as: UTF8.self) }
        return jsonResponse(FunctionSourceFiles(name: name, revision: f.revision, entryPoint: f.manifest.entryPoint, files: files))
    }

    func decisions(_ name: String, limit: Int?) async throws -> Response {
        _ = try await runtime.function(name)
        let records = try runtime.decisionRecords(of: name, limit: max(1, min(limit ?? 200, 10_000)))
        return jsonResponse(DecisionList(decisions: records.map(Self.decision)))
    }

    func cost(_ name: String) async throws -> Response {
        _ = try await runtime.function(name)
        let rungs = try await runtime.costs(of: name)
        let prices = runtime.configuration.prices
        let invocations = rungs.reduce(0) { $0 + $1.invocations }
        let billed = rungs.reduce(0) { $0 + $1.billedUSD }
        func perThousand(_ usd: Double, _ count: Int) -> Double { count > 0 ? usd / Double(count) * 1000 : 0 }
        return jsonResponse(CostReport(
            function: name, invocations: invocations, billedUSD: billed, billedPer1000USD: perThousand(billed, invocations),
            instanceSeconds: rungs.reduce(0) { $0 + $1.instanceSeconds }, providerCostUSD: rungs.reduce(0) { $0 + $1.providerUSD },
            byBackend: rungs.map {
                .init(
                    backend: $0.backend, invocations: $0.invocations, successful: $0.successful, billedUSD: $0.billedUSD,
                    billedPer1000USD: perThousand($0.billedUSD, $0.invocations), meanMs: $0.meanMs, instanceSeconds: $0.instanceSeconds,
                    providerCostUSD: $0.providerUSD, pricePerSecondUSD: Backend($0.backend).map { prices.perSecond($0) } ?? 0)
            },
            prices: .init(
                vcpuSecond: prices.vcpuSecond, memoryGiBSecond: prices.memoryGiBSecond, gpuSecond: prices.gpuSecond,
                memoryGiBPerInstance: prices.memoryGiBPerInstance)))
    }

    /// Invokes a function; `api` (from `…/invoke/API`) names one method of a handler with several
    /// (BentoML, Modal) and is put in the JSON object body as its `"api"` key, which the shim reads.
    func invoke(_ name: String, _ request: Request, api: String? = nil) async throws -> Response {
        var request = request
        var body = Array(buffer: try await GaiaServer.collect(&request, limit: maxBodyBytes))
        let declared = request.headers[.contentType]
        var contentType = declared ?? (body.first == UInt8(ascii: "{") || body.first == UInt8(ascii: "[") ? "application/json" : "application/octet-stream")
        if let api {
            guard var object = (try? JSONSerialization.jsonObject(with: Data(body.isEmpty ? Array("{}".utf8) : body))) as? [String: Any] else {
                throw PlatformError(
                    "bad_request", "POST …/invoke/\(api) takes a JSON object, its inputs by name; send one, or POST …/invoke with any body", status: 400)
            }
            if let named = object["api"] as? String, named != api {
                throw PlatformError("bad_request", "the path names the method \(api) and the payload's \"api\" names \(named); give one", status: 400)
            }
            object["api"] = api
            body = Array(try JSONSerialization.data(withJSONObject: object))
            contentType = "application/json"
        }
        let prefer = request.headers[values: HTTPField.Name("Prefer")!].joined(separator: ",").lowercased()
        if prefer.contains("respond-async") || request.uri.queryParameters.get("async") == "true" {
            let record = try await runtime.submitAsync(name, body: body, contentType: contentType)
            var response = jsonResponse(GaiaServer.asyncDescription(record), status: .accepted)
            response.headers[.location] = "/v1/invocations/\(record.id)"
            response.headers[HTTPField.Name("Preference-Applied")!] = "respond-async"
            return response
        }
        let started = ContinuousClock.now
        let id = FunctionRuntime.newInvocationID()
        // A handler that returns a generator streams: its first chunk starts the answer. Otherwise
        // the stream ends without one and the answer is whole.
        let stream = ResponseStream()
        let invocation = Task {
            defer { stream.finish() }
            return try await runtime.invoke(name, body: body, contentType: contentType, stream: stream, id: id)
        }
        if await stream.started() {
            if let first = stream.firstChunkAt { metrics.recordFirstChunk(function: name, after: first - started) }
            let events = request.headers[.accept]?.contains("text/event-stream") ?? false
            return streamed(name, stream, invocation, events: events, started: started, id: id)
        }
        let result: PlatformInvocation
        do {
            result = try await invocation.value
        } catch {
            await record(name, error, started: started)
            throw error is PlatformError ? error : IdentifiedError(error: error, invocationID: id)
        }
        record(name, result, started: started)
        var headers = Self.headers(of: result)
        headers[.contentType] = result.outcome.response.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: result.outcome.response.body)))
    }

    /// A streamed answer: each chunk as it comes, over chunked transfer (the invocation's `Gaia-*`
    /// headers, or `Gaia-Error`, as trailers), or as Server-Sent Events when the client asked for
    /// them (`data:` per chunk, then an `event: done` or `event: error`). A client that goes away
    /// cancels the invocation: the worker closes the generator.
    func streamed(
        _ name: String, _ stream: ResponseStream, _ invocation: Task<PlatformInvocation, any Error>, events: Bool, started: ContinuousClock.Instant,
        id: String
    ) -> Response {
        var headers: HTTPFields = [.contentType: events ? "text/event-stream" : stream.contentType ?? "application/octet-stream"]
        headers[.gaiaInvocationID] = id
        headers[.cacheControl] = "no-cache"
        headers[HTTPField.Name("Gaia-Streamed")!] = "true"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var clientGone: (any Error)?
            do {
                for await chunk in stream.chunks {
                    try await writer.write(ByteBuffer(bytes: events ? ServerSentEvents.data(chunk) : chunk))
                }
            } catch {
                stream.cancel()  // the client went away
                clientGone = error
            }
            let outcome = await invocation.result
            switch outcome {
            case .success(let result): record(name, result, started: started)
            case .failure(let error): await record(name, error, started: started)
            }
            if let clientGone { throw clientGone }
            switch outcome {
            case .success(let result):
                if events { try await writer.write(ByteBuffer(bytes: ServerSentEvents.event("done", Self.summary(of: result)))) }
                try await writer.finish(events ? nil : Self.headers(of: result))
            case .failure(let error):
                let message = "\(error)"
                if events {
                    try await writer.write(ByteBuffer(bytes: ServerSentEvents.event("error", ["error": message, "status": FunctionRuntime.status(of: error)])))
                }
                try await writer.finish(events ? nil : [HTTPField.Name("Gaia-Error")!: String(message.prefix(1000))])
            }
        })
    }

    /// The `Gaia-*` headers of an invocation's answer.
    static func headers(of result: PlatformInvocation) -> HTTPFields {
        var headers = HTTPFields()
        headers[.gaiaInvocationID] = result.id
        headers[HTTPField.Name("Gaia-Backend")!] = result.backend.description
        headers[HTTPField.Name("Gaia-Cold-Start")!] = result.outcome.coldStart ? "true" : "false"
        headers[HTTPField.Name("Gaia-Instance")!] = String(result.outcome.instance)
        headers[HTTPField.Name("Gaia-Revision")!] = String(result.revision)
        headers[HTTPField.Name("Gaia-Duration-Ms")!] = String(format: "%.3f", result.outcome.totalMilliseconds)
        if let chunks = result.outcome.response.chunks { headers[HTTPField.Name("Gaia-Chunks")!] = String(chunks) }
        return headers
    }

    /// What the `Gaia-*` headers say, as the data of a stream's final event.
    static func summary(of result: PlatformInvocation) -> [String: any Sendable] {
        var summary: [String: any Sendable] = [
            "backend": result.backend.description, "cold_start": result.outcome.coldStart, "instance": result.outcome.instance,
            "revision": result.revision, "duration_ms": (result.outcome.totalMilliseconds * 1000).rounded() / 1000, "id": result.id,
        ]
        summary["chunks"] = result.outcome.response.chunks
        return summary
    }

    private func record(_ name: String, _ result: PlatformInvocation, started: ContinuousClock.Instant) {
        metrics.recordInvocation(function: name, backend: result.backend.description, status: 200,
                                 duration: ContinuousClock.now - started, coldStart: result.outcome.coldStart,
                                 coldStartWait: .clamped(milliseconds: result.outcome.queueMilliseconds))
    }

    private func record(_ name: String, _ error: any Error, started: ContinuousClock.Instant) async {
        guard !(error is PlatformError) else { return }
        let backend = (try? await runtime.rung(of: name))?.current.description ?? "none"
        metrics.recordInvocation(function: name, backend: backend, status: FunctionRuntime.status(of: error),
                                 duration: ContinuousClock.now - started, coldStart: false)
    }

    func invocations(_ name: String, limit: Int?) async throws -> Response {
        _ = try await runtime.function(name)
        let records = try await runtime.invocationRecords(of: name, limit: max(1, min(limit ?? 100, 10_000)))
        let now = Date()
        let running = await runtime.invocationsInFlight(of: name).map {
            InvocationList.Running(
                id: $0.id, at: $0.at, revision: $0.revision, backend: $0.backend.description, elapsedMs: now.timeIntervalSince($0.at) * 1000)
        }
        return jsonResponse(InvocationList(
            invocations: records.map {
                .init(
                    at: $0.at, revision: $0.revision, backend: $0.backend, coldStart: $0.coldStart, durationMs: $0.durationMs,
                    queueMs: $0.queueMs, status: $0.status, costUSD: $0.costUSD, id: $0.invocationId)
            },
            inFlight: running))
    }
}
