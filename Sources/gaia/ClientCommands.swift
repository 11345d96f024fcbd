import ArgumentParser
import AsyncHTTPClient
import Foundation
import GaiaAnalyzer
import GaiaCore
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1

/// Options every client command shares.
struct ServerOptions: ParsableArguments {
    @Option(help: "The Gaia server (default: $GAIA_SERVER or http://127.0.0.1:8080).")
    var server: String?

    var baseURL: String {
        (server ?? ProcessInfo.processInfo.environment["GAIA_SERVER"] ?? "http://127.0.0.1:8080")
            .trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    /// Sends a request; returns the status and body, or throws a CLIError with the server's message.
    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json")
        async throws -> (status: Int, body: [UInt8], headers: HTTPHeaders)
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        // A server that is not there fails within the connect timeout (the shared client's default
        // keeps retrying a refused connection for 90 s); a deploy may take minutes to answer.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .milliseconds(1500))))
        let response: HTTPClientResponse
        let bytes: [UInt8]
        do {
            response = try await client.execute(request, timeout: .seconds(600))
            bytes = Array(buffer: try await response.body.collect(upTo: 256 << 20))
            try? await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw CLIError(description: "cannot reach the Gaia server at \(baseURL) (\(error)); start it with `gaia serve` or pass --server")
        }
        let status = Int(response.status.code)
        if status >= 400 {
            let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
            let message = (object?["error"] as? [String: Any])?["message"] as? String ?? String(decoding: bytes, as: UTF8.self)
            let traceback = (object?["error"] as? [String: Any])?["traceback"] as? String
            throw CLIError(description: "HTTP \(status): \(message)" + (traceback.map { "\n\($0)" } ?? ""))
        }
        return (status, bytes, response.headers)
    }
}

func printJSON(_ bytes: [UInt8]) {
    if let object = try? JSONSerialization.jsonObject(with: Data(bytes)),
        let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    {
        print(String(decoding: pretty, as: UTF8.self))
    } else {
        print(String(decoding: bytes, as: UTF8.self))
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
    @Flag(help: "Print the manifest as JSON.") var json = false
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let source: FunctionSource
        do {
            source = try FunctionSource.load(path: path)
        } catch let error as AnalyzerError {
            throw CLIError(description: error.description)
        }
        var files = source.files.mapValues { String(decoding: $0, as: UTF8.self) }
        if let requirements = FileManager.default.contents(atPath: source.root + "/requirements.txt") {
            files["requirements.txt"] = String(decoding: requirements, as: UTF8.self)
        }
        let functionName = name ?? ExecutionModeAnalyzer.defaultName(for: source)
        var body: [String: Any] = ["name": functionName, "files": files]
        if let mode { body["mode"] = mode.rawValue }
        if let slo {
            do { body["slo"] = try SLO(parsing: slo).description } catch { throw CLIError(description: "--slo: \(error)") }
        }
        if let minScale { body["min_scale"] = minScale }
        if let maxScale { body["max_scale"] = maxScale }
        if let concurrency { body["concurrency"] = concurrency }
        if let keepAlive {
            do { body["keep_alive"] = try KeepAliveSettings.Mode(parsing: keepAlive).description } catch { throw CLIError(description: "--keep-alive: \(error)") }
        }
        if let prewarm {
            guard ["on", "off"].contains(prewarm) else { throw CLIError(description: "--prewarm: write on or off, not '\(prewarm)'") }
            body["prewarm"] = prewarm == "on"
        }
        print("deploying \(functionName) (\(files.count) file(s)) to \(server.baseURL)…")
        let response = try await server.send(.POST, "/v1/functions", body: Array(try JSONSerialization.data(withJSONObject: body)))
        if json {
            printJSON(response.body)
        } else {
            let manifest = try FunctionManifest.fromJSON(Data(response.body))
            print(AnalyzeCommand.render(manifest))
            print("invoke it: gaia invoke \(functionName) --data '{}'")
        }
    }
}

/// `gaia invoke N [--data JSON|@file]`.
struct InvokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke", abstract: "Invoke a deployed function and print its response.")

    @Argument(help: "The function's name.") var name: String
    @Option(help: "The payload: JSON text, or @FILE to send a file's bytes.") var data = "{}"
    @Flag(name: .shortAndLong, help: "Also print the Gaia-* response headers (to stderr).") var verbose = false
    @OptionGroup var server: ServerOptions

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
        let response = try await server.send(.POST, "/v1/functions/\(name)/invoke", body: body, contentType: contentType)
        if verbose {
            for (header, value) in response.headers where header.lowercased().hasPrefix("gaia-") {
                FileHandle.standardError.write(Data("\(header): \(value)\n".utf8))
            }
        }
        printJSON(response.body)
    }
}

/// `gaia ls`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List deployed functions.")
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let response = try await server.send(.GET, "/v1/functions")
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        let functions = object?["functions"] as? [[String: Any]] ?? []
        if functions.isEmpty {
            print("no functions deployed; deploy one with `gaia deploy PATH`")
            return
        }
        print("NAME".padding(toLength: 24, withPad: " ", startingAt: 0) + "REVISION  MODE            INSTANCES")
        for f in functions {
            let name = (f["name"] as? String ?? "?").padding(toLength: 24, withPad: " ", startingAt: 0)
            let revision = String(f["revision"] as? Int ?? 0).padding(toLength: 10, withPad: " ", startingAt: 0)
            let mode = (f["mode"] as? String ?? "?").padding(toLength: 16, withPad: " ", startingAt: 0)
            print(name + revision + mode + String(f["instances"] as? Int ?? 0))
        }
    }
}

/// `gaia describe N`.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe", abstract: "Show a function's rung, ladder, invocations, cost and decision history.")
    @Argument(help: "The function's name.") var name: String
    @Flag(help: "Print the server's JSON (manifest included) instead of a summary.") var json = false
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let body = try await server.send(.GET, "/v1/functions/\(name)").body
        let costBody = try await server.send(.GET, "/v1/functions/\(name)/cost").body
        guard !json else {
            printJSON(body)
            printJSON(costBody)
            return
        }
        guard let f = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let cost = try JSONSerialization.jsonObject(with: Data(costBody)) as? [String: Any]
        else { throw CLIError(description: "the server's answer is not a JSON object") }
        print(Self.summary(f, cost: cost))
    }

    /// The readable summary of a function's description and cost.
    static func summary(_ f: [String: Any], cost: [String: Any]) -> String {
        let manifest = f["manifest"] as? [String: Any] ?? [:]
        let rung = f["rung"] as? [String: Any] ?? [:]
        func usd(_ x: Any?) -> String { String(format: "$%.6f", (x as? Double) ?? 0) }
        var lines = [
            "\(f["name"] ?? "?")  revision \(f["revision"] ?? "?")  mode \(manifest["mode"] ?? "?")  instances \(f["instances"] ?? 0)",
            "rung:     \(rung["current"] ?? "?") (starts on \(rung["start"] ?? "?"))  slo \(rung["slo"] ?? "?")",
        ]
        let ladder = (rung["ladder"] as? [[String: Any]] ?? []).map { r -> String in
            let predicted = (r["predicted_ms"] as? Double).map { String(format: "%.1f ms", $0) } ?? "?"
            return "\(r["backend"] ?? "?") \(predicted)\((r["measured"] as? Bool) == true ? " (measured)" : "")"
        }
        lines.append("ladder:   " + ladder.joined(separator: ", "))
        lines.append(
            "usage:    \(cost["invocations"] ?? 0) invocations, billed \(usd(cost["billed_usd"])) (\(usd(cost["billed_per_1000_usd"])) per 1,000); "
                + String(format: "%.1f", (cost["instance_seconds"] as? Double) ?? 0) + " instance-seconds, provider cost \(usd(cost["provider_cost_usd"]))")
        for r in cost["by_backend"] as? [[String: Any]] ?? [] {
            lines.append(
                "  \(r["backend"] ?? "?"): \(r["invocations"] ?? 0) invocations, mean " + String(format: "%.1f ms", (r["mean_ms"] as? Double) ?? 0)
                    + ", billed \(usd(r["billed_usd"])), " + String(format: "%.1f", (r["instance_seconds"] as? Double) ?? 0)
                    + " instance-s, provider \(usd(r["provider_cost_usd"]))")
        }
        let decisions = f["decisions"] as? [[String: Any]] ?? []
        lines.append(decisions.isEmpty ? "decisions: none" : "decisions:")
        for d in decisions {
            var figures = ""
            if let m = d["measured_ms"] as? Double { figures += String(format: " measured %.1f ms", m) }
            if let p = d["predicted_ms"] as? Double { figures += String(format: " predicted %.1f ms", p) }
            if let t = d["took_ms"] as? Double { figures += String(format: " (switched in %.1f ms)", t) }
            lines.append("  \(d["at"] ?? "")  \(d["kind"] ?? "")  \(d["from"] ?? "") -> \(d["to"] ?? "")\(figures)  \(d["reason"] ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

/// `gaia logs N`.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a function's instance logs.")
    @Argument(help: "The function's name.") var name: String
    @OptionGroup var server: ServerOptions

    func run() async throws { print(String(decoding: try await server.send(.GET, "/v1/functions/\(name)/logs").body, as: UTF8.self)) }
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
