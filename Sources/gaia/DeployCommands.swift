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
