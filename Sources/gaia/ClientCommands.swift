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
