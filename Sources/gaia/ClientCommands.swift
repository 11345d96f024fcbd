import ArgumentParser
import AsyncHTTPClient
import Foundation
import GaiaAPI
import GaiaAnalyzer
import GaiaCore
import GaiaRuntime
import MultipartKit
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Yams

/// Options every client command shares.
struct ServerOptions: ParsableArguments {
    @Option(help: "The Gaia server (default: $GAIA_SERVER or http://127.0.0.1:8080).")
    var server: String?
    @Option(help: "The API token (default: $GAIA_TOKEN, else the admin token gaia serve wrote to $GAIA_DATA_DIR/admin.token or .gaia/admin.token).")
    var token: String?

    /// The token to send: --token, GAIA_TOKEN, or the admin token of a server whose data folder is here.
    var resolvedToken: String? {
        if let token { return token }
        let environment = ProcessInfo.processInfo.environment
        if let token = environment["GAIA_TOKEN"], !token.isEmpty { return token }
        let file = (environment["GAIA_DATA_DIR"] ?? ".gaia") + "/admin.token"
        return FileManager.default.contents(atPath: file).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The server's URL: `--server`, `GAIA_SERVER` or the default; `host:port` alone means http.
    var baseURL: String {
        let given = (server ?? ProcessInfo.processInfo.environment["GAIA_SERVER"] ?? "http://127.0.0.1:8080")
            .trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        return given.contains("://") ? given : "http://" + given
    }

    /// Why a connection failed, in a person's words (the HTTP client's own errors name its internals).
    static func unreachable(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("Connection refused") { return "nothing listens there: connection refused" }
        if text.localizedCaseInsensitiveContains("connectTimeout") || text.contains("timed out") { return "no answer within 1.5 s" }
        if text.contains("Name or service not known") || text.contains("nodename nor servname") { return "no such host" }
        return text
    }

    /// Sends a request; returns the status and body, or throws a CLIError with the server's message.
    /// With `chunks`, a successful answer's body is handed over piece by piece as it arrives, with
    /// its headers (and the body returned is empty).
    func send(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
        accept: String? = nil, chunks: ((ByteBuffer, HTTPHeaders) throws -> Void)? = nil
    ) async throws -> (status: Int, body: [UInt8], headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let token = resolvedToken { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        // A server that is not there fails within the connect timeout (the shared client's default
        // keeps retrying a refused connection for 90 s); a deploy may take minutes to answer.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .milliseconds(1500))))
        let response: HTTPClientResponse
        var bytes: [UInt8] = []
        do {
            response = try await client.execute(request, timeout: .seconds(600))
            if let chunks, response.status.code < 400 {
                for try await buffer in response.body { try chunks(buffer, response.headers) }
            } else {
                bytes = Array(buffer: try await response.body.collect(upTo: 256 << 20))
            }
            try? await client.shutdown()
        } catch let error as CLIError {
            try? await client.shutdown()
            throw error
        } catch {
            try? await client.shutdown()
            throw CLIError(description: "cannot reach the Gaia server at \(baseURL) (\(Self.unreachable(error))); start it with `gaia serve` or pass --server")
        }
        let status = Int(response.status.code)
        if status >= 400 {
            guard let error = try? APICoding.decoder().decode(APIErrorBody.self, from: Data(bytes)) else {
                throw CLIError(description: "HTTP \(status): \(String(decoding: bytes, as: UTF8.self))")
            }
            throw CLIError(description: "HTTP \(status): \(error.error.message)" + (error.error.traceback.map { "\n\($0)" } ?? ""))
        }
        return (status, bytes, response.headers)
    }

    /// POSTs `body` asking for Server-Sent Events, handing each event to `event` as it arrives;
    /// returns the body of an answer that is not an event stream (empty when it was one).
    func events(
        _ path: String, body: [UInt8], contentType: String, event: @escaping (ServerSentEventParser.Event) throws -> Void
    ) async throws -> [UInt8] {
        var parser = ServerSentEventParser()
        var whole: [UInt8] = []
        _ = try await send(.POST, path, body: body, contentType: contentType, accept: "text/event-stream") { buffer, headers in
            guard headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true else {
                whole += buffer.readableBytesView
                return
            }
            for item in parser.feed(Array(buffer.readableBytesView)) { try event(item) }
        }
        return whole
    }

    /// GETs `path` and decodes the API type it answers with.
    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        let body = try await send(.GET, path).body
        do {
            return try APICoding.decoder().decode(T.self, from: Data(body))
        } catch {
            throw CLIError(description: "the server's answer to GET \(path) is not a \(T.self): \(error)")
        }
    }
}

/// How a read command prints: a summary for people, or the API's own types as JSON or YAML.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, yaml

    /// Prints `value` as JSON or YAML; false for `text` (the caller prints its summary).
    func print(_ value: some Encodable) throws -> Bool {
        switch self {
        case .text:
            return false
        case .json:
            Swift.print(String(decoding: try APICoding.encoder(pretty: true).encode(value), as: UTF8.self))
        case .yaml:
            // The same types and keys as the JSON the API sends.
            Swift.print(YAMLNumbers.decimal(try YAMLEncoder().encode(value)), terminator: "")
        }
        return true
    }
}

/// `gaia deploy PATH --name N`.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy", abstract: "Deploy a function (a .py file or a folder) to the Gaia server.")

    @Argument(help: "The function: a .py file or a folder.") var path: String
    @Option(help: "The function's name (default: the folder or file name).") var name: String?
    @Option(help: "Force a mode instead of the detected one.") var mode: ExecutionMode?
    @Option(help: "Latency objective, e.g. p95=300ms (p50, p90, p95, p99 or mean; ms or s), optionally ,window=60s and ,cost=USD per 1,000 invocations.") var slo: String?
    @Option(help: "Fewest instances kept (0 allows scale to zero).") var minScale: Int?
    @Option(help: "Most instances.") var maxScale: Int?
    @Option(help: "Requests one instance runs at once (default 1).") var concurrency: Int?
    @Option(help: "Keep-alive of idle instances: adaptive (from the function's idle-time histogram) or fixed(SECONDS), e.g. fixed(600s).") var keepAlive: String?
    @Option(help: "Pre-warm an instance before the next request is expected: on or off (default on).") var prewarm: String?
    @Option(help: "Pin the function to one rung of the server's ladder (cpu-N, gpuN, gpuN-SMqQ; see gaia devices) or a time-quota share of one (cpu-1q30); the mode controller then never moves it.")
    var rung: String?
    @Option(help: "Largest batch the router groups for a function that defines handle_batch(payloads, context) (default 8).")
    var maxBatch: Int?
    @Option(help: "Longest one invocation may run, in seconds, before its instance is stopped and it answers 504 (default: the server's, 60).")
    var timeout: Double?
    @Option(name: .customLong("env"), help: ArgumentHelp("An environment variable for its instances (repeat for more; replaces the previous revision's).", valueName: "KEY=VALUE"))
    var environment: [String] = []
    @Option(name: .customLong("secret"), help: ArgumentHelp("A secret for its instances, as an environment variable: KEY=@FILE reads the file, KEY alone takes $KEY from this shell (repeat for more; replaces the previous revision's). Stored apart, never shown.", valueName: "KEY=@FILE"))
    var secrets: [String] = []
    @Flag(name: .customLong("public"), help: "Anyone may invoke it without a token (everything else about it still needs one).")
    var isPublic = false
    @Option(name: .shortAndLong, help: "How to print the manifest: text, json or yaml.") var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    /// `--env KEY=VALUE` options as a dictionary (nil when none was given).
    static func environment(_ options: [String]) throws -> [String: String]? {
        guard !options.isEmpty else { return nil }
        var variables: [String: String] = [:]
        for option in options {
            guard let equals = option.firstIndex(of: "="), equals != option.startIndex else {
                throw CLIError(description: "--env: write KEY=VALUE, not '\(option)'")
            }
            variables[String(option[..<equals])] = String(option[option.index(after: equals)...])
        }
        return variables
    }

    /// `--secret KEY=@FILE` or `--secret KEY` options as a dictionary (nil when none was given); a
    /// secret's value is never taken from the command line, where other users could read it.
    static func secrets(_ options: [String]) throws -> [String: String]? {
        guard !options.isEmpty else { return nil }
        var secrets: [String: String] = [:]
        for option in options {
            if let equals = option.firstIndex(of: "=") {
                let key = String(option[..<equals])
                let value = option[option.index(after: equals)...]
                guard value.hasPrefix("@") else {
                    throw CLIError(description: "--secret \(key): give KEY=@FILE or KEY (from $\(key)), not the value itself on the command line")
                }
                guard let data = FileManager.default.contents(atPath: String(value.dropFirst())) else {
                    throw CLIError(description: "--secret \(key): cannot read \(value.dropFirst())")
                }
                var text = String(decoding: data, as: UTF8.self)
                if text.hasSuffix("\n") { text.removeLast() }  // a file written by echo or an editor
                secrets[key] = text
            } else {
                guard let value = ProcessInfo.processInfo.environment[option] else {
                    throw CLIError(description: "--secret \(option): $\(option) is not set in this shell; set it or give \(option)=@FILE")
                }
                secrets[option] = value
            }
        }
        return secrets
    }

    func run() async throws {
        let source: FunctionSource
        do {
            source = try FunctionSource.load(path: path)
        } catch let error as AnalyzerError {
            throw CLIError(description: error.description)
        }
        let files = try Self.files(of: source, path: path)
        let functionName = name ?? ExecutionModeAnalyzer.defaultName(for: source)
        var body = DeployFunction(name: functionName, files: [:], mode: mode, minScale: minScale, maxScale: maxScale, concurrency: concurrency)
        body.env = try Self.environment(environment)
        body.secrets = try Self.secrets(secrets)
        if isPublic { body.isPublic = true }
        if let slo {
            do { body.slo = try SLO(parsing: slo).description } catch { throw CLIError(description: "--slo: \(error)") }
        }
        if let keepAlive {
            do { body.keepAlive = try KeepAliveSettings.Mode(parsing: keepAlive).description } catch { throw CLIError(description: "--keep-alive: \(error)") }
        }
        if let rung {
            guard Backend(rung) != nil else { throw CLIError(description: "--rung: write cpu-N, gpuN or gpuN-SMqQ, not '\(rung)'") }
            body.rung = rung
        }
        if let maxBatch {
            guard (1...1024).contains(maxBatch) else { throw CLIError(description: "--max-batch must be 1…1024, not \(maxBatch)") }
            body.maxBatch = maxBatch
        }
        body.timeoutSeconds = timeout
        if let prewarm {
            guard ["on", "off"].contains(prewarm) else { throw CLIError(description: "--prewarm: write on or off, not '\(prewarm)'") }
            body.prewarm = prewarm == "on"
        }
        let size = files.values.reduce(0) { $0 + $1.count }
        if output == .text {
            print("deploying \(functionName) (\(files.count) file(s), \(Self.bytes(size))) to \(server.baseURL)…")
            if let handler = source.handler, handler.convention != .gaia {
                print("recognised a \(handler.convention.platform) handler: \(handler.handler) in \(source.entryPoint), run unchanged")
            }
        }
        let (upload, contentType) = try Self.upload(body, files: files)
        // The server reports progress (pip's output when the function brings requirements) as
        // Server-Sent Events, shown on stderr as they come, then the manifest.
        var manifestJSON: [UInt8]?
        let whole = try await server.events("/v1/functions", body: upload, contentType: contentType) { event in
            switch event.name {
            case "done": manifestJSON = Array(event.data.utf8)
            case "error":
                let error = try? APICoding.decoder().decode(APIErrorBody.self, from: Data(event.data.utf8))
                throw CLIError(description: error?.error.message ?? event.data)
            default: FileHandle.standardError.write(Data(("  " + event.data).utf8))
            }
        }
        let answer = manifestJSON ?? whole
        let manifest = try FunctionManifest.fromJSON(Data(answer))
        if try !output.print(manifest) {
            print(AnalyzeCommand.render(manifest))
            print("invoke it: gaia invoke \(functionName) --data '{}'")
        }
    }
}

/// `gaia update N --slo … --mode … --min-scale … --max-scale …`.
struct UpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Change a deployed function's SLO, mode or scale bounds without uploading its files again.",
        discussion: "The same files are deployed as a new revision: it starts and proves an instance before traffic moves to it.")

    @Argument(help: "The function's name.") var name: String
    @Option(help: "A new latency objective (as gaia deploy --slo), or 'default' for the platform's.") var slo: String?
    @Option(help: "Force a mode (cpu, cpu_preferred, gpu_preferred, gpu), or 'auto' to release a forced one.") var mode: String?
    @Option(help: "Fewest instances kept (0 allows scale to zero).") var minScale: Int?
    @Option(help: "Most instances.") var maxScale: Int?
    @Option(help: "Longest one invocation may run, in seconds.") var timeout: Double?
    @Option(name: .shortAndLong, help: "How to print the new manifest: text, json or yaml.") var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    func run() async throws {
        var body = FunctionUpdate(mode: mode, minScale: minScale, maxScale: maxScale, timeoutSeconds: timeout)
        if let slo {
            do { body.slo = slo == "default" ? slo : try SLO(parsing: slo).description } catch { throw CLIError(description: "--slo: \(error)") }
        }
        if let mode, mode != "auto", ExecutionMode(rawValue: mode) == nil {
            throw CLIError(description: "--mode: write cpu, cpu_preferred, gpu_preferred, gpu or auto, not '\(mode)'")
        }
        guard !body.isEmpty else { throw CLIError(description: "nothing to change: give --slo, --mode, --min-scale, --max-scale or --timeout") }
        if output == .text { print("updating \(name) on \(server.baseURL)…") }
        let response = try await server.send(.PATCH, "/v1/functions/\(name)", body: Array(try APICoding.encoder().encode(body)))
        let manifest = try FunctionManifest.fromJSON(Data(response.body))
        if try !output.print(manifest) { print(AnalyzeCommand.render(manifest)) }
    }
}

extension DeployCommand {
    /// What a deploy uploads (`FunctionSource.uploadFiles`), its errors as the CLI's.
    static func files(of source: FunctionSource, path: String) throws -> [String: [UInt8]] {
        do { return try FunctionSource.uploadFiles(of: source, at: path) } catch let error as AnalyzerError { throw CLIError(description: error.description) }
    }

    /// The deploy's body: JSON when every file is text, else multipart with the folder as a `.tar.gz`.
    static func upload(_ body: DeployFunction, files: [String: [UInt8]]) throws -> (bytes: [UInt8], contentType: String) {
        var body = body
        let text = files.compactMapValues { String(validating: $0, as: UTF8.self) }
        if text.count == files.count {
            body.files = text
            return (Array(try APICoding.encoder().encode(body)), "application/json")
        }
        let boundary = "gaia-\(UInt64.random(in: 0...UInt64.max))"
        let options = HTTPHeaders([("Content-Disposition", "form-data; name=\"function\""), ("Content-Type", "application/json")])
        let archive = HTTPHeaders([("Content-Disposition", "form-data; name=\"archive\"; filename=\"function.tar.gz\""), ("Content-Type", "application/gzip")])
        var buffer = ByteBuffer()
        try MultipartSerializer().serialize(
            parts: [
                MultipartPart(headers: options, body: ByteBuffer(bytes: try APICoding.encoder().encode(body))),
                MultipartPart(headers: archive, body: ByteBuffer(bytes: try FunctionArchive.tarGz(files))),
            ], boundary: boundary, into: &buffer)
        return (Array(buffer.readableBytesView), "multipart/form-data; boundary=\(boundary)")
    }

    static func bytes(_ count: Int) -> String {
        count < 10 * 1024 ? "\(count) bytes" : count < 10 << 20 ? "\(count >> 10) KiB" : "\(count >> 20) MiB"
    }
}

/// `gaia invoke N [--data JSON|@file]`.
struct InvokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke", abstract: "Invoke a deployed function and print its response.")

    @Argument(help: "The function's name.") var name: String
    @Option(help: "The payload: JSON text, or @FILE to send a file's bytes.") var data = "{}"
    @Flag(name: .shortAndLong, help: "Also print the Gaia-* response headers (to stderr).") var verbose = false
    @Flag(help: "Print a streaming handler's chunks as they come (its summary with --verbose).") var stream = false
    @Option(help: "The method to run, for a handler with several (a BentoML service's @bentoml.api, a Modal class's @modal.method); the payload is then a JSON object of its inputs.")
    var api: String?
    @Flag(name: .customLong("async"), help: "Queue the invocation and print its id at once; gaia invocations get ID [--wait] shows its outcome.")
    var asynchronous = false
    @OptionGroup var server: ServerOptions

    /// `…/invoke`, or `…/invoke/API` for one method of a service (the server puts it in the payload as "api").
    var path: String {
        "/v1/functions/\(name)/invoke" + (api.map { "/" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? "")
    }

    func run() async throws {
        var body: [UInt8]
        var contentType = "application/json"
        if data.hasPrefix("@") {
            guard let bytes = FileManager.default.contents(atPath: String(data.dropFirst())) else {
                throw CLIError(description: "cannot read \(data.dropFirst())")
            }
            body = Array(bytes)
            if (try? JSONSerialization.jsonObject(with: bytes)) == nil { contentType = "application/octet-stream" }
        } else {
            body = Array(data.utf8)
            guard (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) != nil else {
                throw CLIError(description: "--data is not valid JSON; use @FILE to send raw bytes")
            }
        }
        if stream { return try await streamed(body, contentType: contentType) }
        if asynchronous {
            let response = try await server.send(.POST, "\(path)?async=true", body: body, contentType: contentType)
            let accepted = try APICoding.decoder().decode(AsyncInvocation.self, from: Data(response.body))
            // The id alone on stdout, for scripts (`id=$(gaia invoke f --async)`); the hint on stderr.
            print(accepted.id)
            FileHandle.standardError.write(Data("\(accepted.state); see it with: gaia invocations get \(accepted.id) --wait\n".utf8))
            return
        }
        let response = try await server.send(.POST, path, body: body, contentType: contentType)
        if verbose {
            for (header, value) in response.headers where header.lowercased().hasPrefix("gaia-") {
                FileHandle.standardError.write(Data("\(header): \(value)\n".utf8))
            }
        }
        // The handler's answer byte for byte as the server sent it (not re-encoded: keys keep their
        // order, 4.0 stays 4.0, a JSON string keeps its quotes), with a newline if it has none.
        FileHandle.standardOutput.write(Data(response.body))
        if response.body.last != UInt8(ascii: "\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }
}

extension InvokeCommand {
    /// Asks for Server-Sent Events and prints each chunk's data as it arrives; the final `done`
    /// event goes to stderr with --verbose, an `error` event fails the command. An answer that does
    /// not stream is printed whole.
    func streamed(_ body: [UInt8], contentType: String) async throws {
        let whole = try await server.events(path, body: body, contentType: contentType) { event in
            switch event.name {
            case "done" where verbose: FileHandle.standardError.write(Data((event.data + "\n").utf8))
            case "done": break
            case "error": throw CLIError(description: "the stream failed: \(event.data)")
            default: FileHandle.standardOutput.write(Data(event.data.utf8))
            }
        }
        if !whole.isEmpty { print(String(decoding: whole, as: UTF8.self)) }
    }
}

/// Splits a `text/event-stream` body into events as its bytes arrive (the WHATWG format: `data:`
/// lines joined by newlines, `event:` naming the event, an empty line ending it).
struct ServerSentEventParser {
    struct Event: Equatable {
        var name = "message"
        var data = ""
    }

    private var buffer: [UInt8] = []
    private var name: String?
    private var data: [String] = []

    /// The events the bytes so far complete.
    mutating func feed(_ bytes: [UInt8]) -> [Event] {
        buffer += bytes
        var events: [Event] = []
        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            var line = String(decoding: buffer[..<newline], as: UTF8.self)
            buffer.removeSubrange(...newline)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty {
                if !data.isEmpty || name != nil { events.append(Event(name: name ?? "message", data: data.joined(separator: "\n"))) }
                (name, data) = (nil, [])
                continue
            }
            let field = line.prefix { $0 != ":" }
            var value = line.dropFirst(field.count).dropFirst()
            if value.hasPrefix(" ") { value = value.dropFirst() }
            switch field {
            case "data": data.append(String(value))
            case "event": name = String(value)
            default: break  // comments (": …"), id and retry
            }
        }
        return events
    }
}

/// `gaia ls`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List deployed functions.")
    @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let list = try await server.get("/v1/functions", as: FunctionList.self)
        guard try !output.print(list) else { return }
        if list.functions.isEmpty {
            print("no functions deployed; deploy one with `gaia deploy PATH`")
            return
        }
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count + 1), withPad: " ", startingAt: 0) }
        print(pad("NAME", 24) + pad("REVISION", 10) + pad("MODE", 16) + pad("RUNG", 10) + "INSTANCES")
        for f in list.functions {
            print(pad(f.name, 24) + pad(String(f.revision), 10) + pad(f.mode.rawValue, 16) + pad(f.backend, 10) + String(f.instances))
        }
    }
}

/// What `gaia describe -o json|yaml` prints: the function and its cost, as the API sends them.
struct DescribeOutput: Codable {
    var function: FunctionDescription
    var cost: CostReport
}

/// `gaia describe N`.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe", abstract: "Show a function's rung, ladder, invocations, cost and decision history.")
    @Argument(help: "The function's name.") var name: String
    @Option(name: .shortAndLong, help: "text (a summary), json or yaml (the API's description and cost, manifest included).")
    var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let f = try await server.get("/v1/functions/\(name)", as: FunctionDescription.self)
        let cost = try await server.get("/v1/functions/\(name)/cost", as: CostReport.self)
        if try !output.print(DescribeOutput(function: f, cost: cost)) { print(Self.summary(f, cost: cost)) }
    }

    /// The readable summary of a function's description and cost.
    static func summary(_ f: FunctionDescription, cost: CostReport) -> String {
        func usd(_ x: Double) -> String { Dollars.text(x) }
        func ms(_ x: Double) -> String { String(format: "%.1f ms", x) }
        let r = f.rung
        var lines = [
            "\(f.name)  revision \(f.revision)  mode \(f.manifest.mode.rawValue)  instances \(f.instances)",
            "rung:     \(r.current) (starts on \(r.start))  slo \(r.slo)",
        ]
        let ladder = r.ladder.map { rung -> String in
            if let failed = rung.failed { return "\(rung.backend) failed to start (\(failed))" }
            guard let predicted = rung.predictedMs else { return "\(rung.backend) not yet known" }
            return rung.measured ? "\(rung.backend) \(ms(predicted)) measured" : "\(rung.backend) ~\(ms(predicted)) predicted"
        }
        lines.append("ladder:   " + ladder.joined(separator: ", "))
        if let timeout = f.manifest.timeoutSeconds { lines.append("timeout:  \(timeout.formatted()) s per invocation") }
        if let environment = f.manifest.environment, !environment.isEmpty {
            lines.append("env:      " + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        if let secrets = f.manifest.secrets, !secrets.isEmpty {
            lines.append("secrets:  " + secrets.map { "\($0) (set)" }.joined(separator: ", "))
        }
        lines.append(
            "          (the SLO statistic on each rung: measured once it served \(ModeControllerSettings().minSamples)+ requests, else predicted "
                + "by Amdahl's law with \(Int((r.parallelFraction * 100).rounded()))% of the work parallel, "
                + (r.fitted ? "fitted from two measured rungs)" : "the analyzer's estimate until two rungs are measured)"))
        if r.predictorErrorPercent != nil || (r.demandForecast ?? 0) > 0 {
            lines.append(
                "predictor: " + (r.predictorErrorPercent.map { String(format: "%.1f%% error on held-out recent invocations", $0) } ?? "too few invocations to measure its error")
                    + String(format: "; planned for %.2f req/s", r.demandForecast ?? 0))
        }
        lines.append(
            "usage:    \(cost.invocations) invocations, billed \(usd(cost.billedUSD)) (\(usd(cost.billedPer1000USD)) per 1,000); "
                + String(format: "%.1f", cost.instanceSeconds) + " instance-seconds, provider cost \(usd(cost.providerCostUSD))")
        for b in cost.byBackend {
            lines.append(
                "  \(b.backend): \(b.invocations) invocations, mean \(ms(b.meanMs)), billed \(usd(b.billedUSD)), "
                    + String(format: "%.1f", b.instanceSeconds) + " instance-s, provider \(usd(b.providerCostUSD))")
        }
        lines.append(f.decisions.isEmpty ? "decisions: none" : "decisions (latest \(f.decisions.count), oldest first):")
        for d in f.decisions {
            var figures = ""
            if let m = d.measuredMs { figures += " measured \(ms(m))" }
            if let p = d.predictedMs { figures += " predicted \(ms(p))" }
            if let t = d.tookMs { figures += " (switched in \(ms(t)))" }
            lines.append("  \(d.at.formatted(.iso8601))  \(d.kind)  \(d.from) -> \(d.to)\(figures)  \(d.reason)")
        }
        return lines.joined(separator: "\n")
    }
}

/// `gaia invocations N`.
struct InvocationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invocations", abstract: "A function's latest invocations, or one invocation by its id.",
        subcommands: [InvocationsListCommand.self, InvocationGetCommand.self], defaultSubcommand: InvocationsListCommand.self)
}

/// `gaia invocations get ID`: an invocation by its id (`Gaia-Invocation-Id`, or what `gaia invoke
/// --async` printed): an asynchronous one's state and outcome, a synchronous one's record.
struct InvocationGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Show an invocation by its id: an asynchronous one's state and, once finished, its result (gaia invoke --async); a synchronous one's record (its Gaia-Invocation-Id).")
    @Argument(help: "The invocation's id (inv_…).") var id: String
    @Flag(help: "Wait until it has finished (the command then fails if the invocation did).") var wait = false
    @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    func run() async throws {
        var invocation = try await server.get("/v1/invocations/\(id)", as: AsyncInvocation.self)
        while wait && (invocation.state == "queued" || invocation.state == "running") {
            try await Task.sleep(for: .milliseconds(250))
            invocation = try await server.get("/v1/invocations/\(id)", as: AsyncInvocation.self)
        }
        if try !output.print(invocation) {
            print("\(invocation.id)  \(invocation.function)  \(invocation.state)  attempts \(invocation.attempts)" + (invocation.status.map { "  status \($0)" } ?? ""))
            if invocation.synchronous == true {
                print("synchronous, on \(invocation.backend ?? "?")" + (invocation.durationMs.map { String(format: " in %.1f ms", $0) } ?? "")
                    + (invocation.coldStart == true ? " (cold start)" : "") + "; its result went to its caller")
            }
            if let error = invocation.error { print("error: \(error)") }
            if let result = invocation.result { print(invocation.resultEncoding == "base64" ? "result (base64): \(result)" : result) }
        }
        // A failed invocation fails the command too (after printing it), so that scripts can tell.
        if invocation.state == "failed" { throw ExitCode.failure }
    }
}

/// `gaia invocations NAME`: a function's latest invocations.
struct InvocationsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List a function's latest invocations, newest first.")
    @Argument(help: "The function's name.") var name: String
    @Option(help: "How many (1 to 10,000).") var limit = 20
    @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let list = try await server.get("/v1/functions/\(name)/invocations?limit=\(limit)", as: InvocationList.self)
        guard try !output.print(list) else { return }
        let running = list.inFlight ?? []
        if list.invocations.isEmpty && running.isEmpty {
            print("no invocations of \(name) yet; try `gaia invoke \(name)`")
            return
        }
        print("ID                            AT                    REV  RUNG      STATUS  COLD  DURATION    QUEUE       COST")
        for r in running {  // not recorded yet: no status, queue or cost until they end
            print(r.id.padding(toLength: 30, withPad: " ", startingAt: 0) + r.at.formatted(.iso8601).padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(r.revision).padding(toLength: 5, withPad: " ", startingAt: 0) + r.backend.padding(toLength: 10, withPad: " ", startingAt: 0)
                + "running".padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%9.1f ms so far", r.elapsedMs))
        }
        for i in list.invocations {
            let cells = [
                (i.id ?? "-").padding(toLength: 30, withPad: " ", startingAt: 0),
                i.at.formatted(.iso8601).padding(toLength: 22, withPad: " ", startingAt: 0),
                String(i.revision).padding(toLength: 5, withPad: " ", startingAt: 0),
                i.backend.padding(toLength: 10, withPad: " ", startingAt: 0),
                String(i.status).padding(toLength: 8, withPad: " ", startingAt: 0),
                (i.coldStart ? "yes" : "no").padding(toLength: 6, withPad: " ", startingAt: 0),
                String(format: "%9.1f ms  %7.1f ms  ", i.durationMs, i.queueMs) + Dollars.text(i.costUSD),
            ]
            print(cells.joined())
        }
    }
}

/// What `gaia logs -o json|yaml` prints.
struct LogsOutput: Codable {
    var function: String
    var logs: String
}

/// `gaia logs N`.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a function's instance logs.",
        discussion: """
            Each line begins with its time (UTC). Without --since or --follow, the end of each instance's log of the \
            current revision, one after the other. With --since, the lines from then on of every instance and of the \
            platform's notes (failed invocations), merged in time order, each naming its source (i3, gaia). \
            --follow prints new lines as they come, until interrupted.
            """)
    @Argument(help: "The function's name.") var name: String
    @Option(help: "Only lines from this time on: a duration ago (30s, 10m, 2h, 1d) or an ISO 8601 time (2026-12-07T23:40:01Z).")
    var since: String?
    @Flag(name: .shortAndLong, help: "Keep printing new lines as they come (poll each second) until interrupted.") var follow = false
    @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    /// `--since`: a duration before `now` or an ISO 8601 time, as the server's stamp.
    static func stamp(since text: String, now: Date = Date()) throws -> String {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last.flatMap({ units[$0] }), let amount = Double(text.dropLast()), amount >= 0, amount.isFinite {
            return LogLines.stamp(now.addingTimeInterval(-amount * unit))
        }
        guard let stamp = LogLines.stamp(parsing: text) else {
            throw CLIError(description: "--since: give a duration (30s, 10m, 2h, 1d) or an ISO 8601 time (2026-12-07T23:40:01Z), not '\(text)'")
        }
        return stamp
    }

    func run() async throws {
        var since = try since.map { try Self.stamp(since: $0) }
        if follow { since = since ?? "1970-01-01T00:00:00.000Z" }
        func fetch(_ since: String?) async throws -> String {
            let query = since.map { "?since=" + $0 } ?? ""
            return String(decoding: try await server.send(.GET, "/v1/functions/\(name)/logs\(query)").body, as: UTF8.self)
        }
        guard follow else {
            let text = try await fetch(since)
            if try !output.print(LogsOutput(function: name, logs: text)) { print(text, terminator: text.hasSuffix("\n") ? "" : "\n") }
            return
        }
        // Each poll asks from the newest stamp printed, inclusive; lines already printed at that
        // stamp are not printed again.
        var newest = since ?? ""
        var printedAtNewest: Set<Substring> = []
        while !Task.isCancelled {
            for line in try await fetch(newest).split(separator: "\n") {
                let stamp = String(line.prefix(24))
                if stamp == newest && printedAtNewest.contains(line) { continue }
                FileHandle.standardOutput.write(Data((line + "\n").utf8))  // unbuffered: seen as it comes
                if stamp > newest { newest = stamp; printedAtNewest = [] }
                printedAtNewest.insert(line)
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
}

/// `gaia rm N`.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a function (its history stays).")
    @Argument(help: "The function's name.") var name: String
    @OptionGroup var server: ServerOptions

    func run() async throws {
        _ = try await server.send(.DELETE, "/v1/functions/\(name)")
        print("removed \(name)")
    }
}

/// `gaia token create|ls|rm`: the API's bearer tokens (admin scope needed).
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Make, list and revoke API tokens (scopes: admin, invoke, read).",
        subcommands: [Create.self, List.self, Remove.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Make a token; it is printed this once.")
        @Argument(help: "What it is for (e.g. ci).") var name: String
        @Option(name: .customLong("scope"), help: "admin, invoke or read; repeat for several (default invoke).") var scopes: [String] = []
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let body = CreateToken(name: name, scopes: scopes.isEmpty ? ["invoke"] : scopes)
            let response = try await server.send(.POST, "/v1/tokens", body: Array(try APICoding.encoder().encode(body)))
            let created = try APICoding.decoder().decode(CreatedToken.self, from: Data(response.body))
            print(created.token)
            FileHandle.standardError.write(Data("token \(created.info.id) (\(created.info.scopes.joined(separator: ", "))): keep it; it is not shown again\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List tokens (never the tokens themselves).")
        @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let list = try await server.get("/v1/tokens", as: TokenList.self)
            if try output.print(list) { return }
            for t in list.tokens { print("\(t.id)  \(t.scopes.joined(separator: ",").padding(toLength: 18, withPad: " ", startingAt: 0))  \(t.name)") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Revoke a token by id.")
        @Argument(help: "The token's id (gaia token ls).") var id: String
        @OptionGroup var server: ServerOptions

        func run() async throws {
            _ = try await server.send(.DELETE, "/v1/tokens/\(id)")
            print("revoked \(id)")
        }
    }
}
