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
