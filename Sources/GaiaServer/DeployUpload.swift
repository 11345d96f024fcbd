import Foundation
import GaiaAPI
import GaiaRuntime
import MultipartKit
import NIOCore
import NIOFoundationEssentialsCompat

/// The three shapes of a deploy's body, read into the options and the files:
/// - `application/json`: a `DeployFunction` with its files as text;
/// - `multipart/form-data`: a `function` part (that JSON, `files` optional) and an `archive` part
///   (a `.tar.gz` or `.tar` of the folder), so binary files deploy too;
/// - an archive alone (`application/gzip`, `application/x-tar`, `application/octet-stream`), its
///   options in the query (`?name=N&slo=p95=300ms&min_scale=1`; no environment or secrets there).
enum DeployUpload {
    static let archiveTypes: Set<String> = [
        "application/gzip", "application/x-gzip", "application/x-tar", "application/x-compressed-tar", "application/octet-stream",
    ]
    /// Query options of an archive-only deploy, with whether each is a number (else text).
    static let queryOptions: [String: Bool] = [
        "name": false, "mode": false, "slo": false, "keep_alive": false, "rung": false, "prewarm": false, "public": false,
        "min_scale": true, "max_scale": true, "concurrency": true, "max_batch": true, "timeout_seconds": true,
    ]

    static func read(contentType: String?, query: [(String, String)], body: ByteBuffer, maxBytes: Int) throws -> (DeployFunction, [String: [UInt8]]) {
        let parameters = (contentType ?? "application/json").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        let media = parameters.first?.lowercased() ?? ""
        if media == "multipart/form-data" {
            let boundary = parameters.dropFirst().first { $0.lowercased().hasPrefix("boundary=") }
                .map { String($0.dropFirst("boundary=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            guard let boundary, !boundary.isEmpty else {
                throw PlatformError("bad_request", "a multipart/form-data body needs its boundary in the Content-Type", status: 400)
            }
            return try multipart(body, boundary: boundary, maxBytes: maxBytes)
        }
        if archiveTypes.contains(media) {
            let options = try queryDeploy(query)
            return (options, try archive(Array(body.readableBytesView), maxBytes: maxBytes))
        }
        // Anything else is read as JSON, as before archives: `curl -d @deploy.json` sends it as a form.
        let options = try json(Data(buffer: body))
        return (options, options.files.mapValues { Array($0.utf8) })
    }

    static func json(_ data: Data) throws -> DeployFunction {
        do {
            return try APICoding.decoder().decode(DeployFunction.self, from: data)
        } catch {
            throw PlatformError(
                "bad_request",
                "the body must be JSON: {\"name\": …, \"files\": {\"handler.py\": \"…\"}}, or multipart/form-data (function and archive parts), or a .tar.gz with ?name=NAME (\(error))",
                status: 400)
        }
    }

    static func archive(_ bytes: [UInt8], maxBytes: Int) throws -> [String: [UInt8]] {
        do {
            return try FunctionArchive.files(from: bytes, maxBytes: maxBytes)
        } catch let refusal as FunctionArchive.Refusal {
            throw PlatformError(refusal.code, refusal.description, status: refusal.code == "too_large" ? 413 : 400)
        }
    }

    /// A `function` part with the options (and any text files), an `archive` part with the folder.
    static func multipart(_ body: ByteBuffer, boundary: String, maxBytes: Int) throws -> (DeployFunction, [String: [UInt8]]) {
        var parts: [String: [UInt8]] = [:]
        var name: String?
        var current: [UInt8] = []
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { field, value in
            guard field.lowercased() == "content-disposition" else { return }
            for parameter in value.split(separator: ";") {
                let pair = parameter.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix("name=") { name = String(pair.dropFirst(5)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            }
        }
        parser.onBody = { buffer in current += buffer.readableBytesView }
        var repeated: String?
        parser.onPartComplete = {
            if let name, parts.updateValue(current, forKey: name) != nil { repeated = name }
            (name, current) = (nil, [])
        }
        do {
            try parser.execute(body)
        } catch {
            throw PlatformError("bad_request", "the multipart body cannot be read (\(error))", status: 400)
        }
        if let repeated { throw PlatformError("bad_request", "the part '\(repeated.prefix(60))' is given twice", status: 400) }
        if let unknown = parts.keys.first(where: { $0 != "function" && $0 != "archive" }) {
            throw PlatformError("bad_request", "unknown part '\(unknown.prefix(60))': a deploy has a 'function' part (JSON options) and an 'archive' part (.tar.gz)", status: 400)
        }
        guard let function = parts["function"] else {
            throw PlatformError("bad_request", "the multipart body has no 'function' part with the name and options as JSON", status: 400)
        }
        let options = try json(Data(function))
        var files = options.files.mapValues { Array($0.utf8) }
        if let archive = parts["archive"] {
            for (path, bytes) in try self.archive(archive, maxBytes: maxBytes) {
                guard files.updateValue(bytes, forKey: path) == nil else {
                    throw PlatformError("invalid_function", "'\(path.prefix(200))' is both in the archive and among the text files; give it once", status: 400)
                }
            }
        }
        return (options, files)
    }

    /// The options of an archive-only deploy, from its query.
    static func queryDeploy(_ query: [(String, String)]) throws -> DeployFunction {
        var object: [String: Any] = ["files": [String: String]()]
        for (key, value) in query {
            guard let numeric = queryOptions[key] else {
                throw PlatformError(
                    "bad_request", "unknown query option '\(key.prefix(40))'; an archive's deploy takes \(queryOptions.keys.sorted().joined(separator: ", "))",
                    status: 400)
            }
            if key == "timeout_seconds" {
                guard let seconds = Double(value) else { throw PlatformError("bad_request", "\(key) must be a number, not '\(value.prefix(40))'", status: 400) }
                object[key] = seconds
            } else if numeric {
                guard let number = Int(value) else { throw PlatformError("bad_request", "\(key) must be a whole number, not '\(value.prefix(40))'", status: 400) }
                object[key] = number
            } else if key == "prewarm" || key == "public" {
                guard ["true", "false", "on", "off"].contains(value) else {
                    throw PlatformError("bad_request", "\(key) must be true or false, not '\(value.prefix(40))'", status: 400)
                }
                object[key] = value == "true" || value == "on"
            } else {
                object[key] = value
            }
        }
        guard object["name"] != nil else {
            throw PlatformError("bad_request", "an archive's deploy names the function in the query: POST /v1/functions?name=NAME", status: 400)
        }
        return try json(try JSONSerialization.data(withJSONObject: object))
    }
}
