/// A worker or fork server broke the protocol (a malformed or oversized frame, a missing field):
/// the instance is stopped and this is the error its requests fail with.
public struct WorkerProtocolError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What was wrong.
    public let description: String

    init(_ what: String) {
        description = "the worker broke the protocol: \(what)"
    }
}

/// Every message a worker or the fork server sends, decoded and validated in one place; the
/// shim's docstring (`gaia_worker.py`) documents the same protocol.
public enum WorkerMessage: Sendable, Equatable {
    /// The function is loaded and `init` ran, in `initMilliseconds`, then its optional `warmup`,
    /// in `warmupMilliseconds`.
    case ready(initMilliseconds: Double, warmupMilliseconds: Double)
    /// Importing the function or its `init` raised.
    case initError(error: String, traceback: String)
    /// The answer to invocation `id`.
    case result(id: Int, InvocationResult)
    /// One item a streaming handler yielded for invocation `id` (`contentType` on the first).
    case chunk(id: Int, body: [UInt8], contentType: String?)
    /// The answer to resize request `id`: what was adjusted, or the error.
    case resized(id: Int, adjusted: [String], error: String?)
    /// The fork server is ready, having imported `preloaded`.
    case zygoteReady(preloaded: [String])
    /// The fork server forked request `id` as `pid`.
    case forked(id: Int, pid: Int32)
    /// The fork server could not fork request `id`.
    case forkError(id: Int, error: String)
    /// A child of the fork server ended (status < 0: the signal that killed it).
    case exited(pid: Int32, status: Int32)

    /// What one invocation came to, as the worker reports it.
    public enum InvocationResult: Sendable, Equatable {
        /// The handler returned `body` of `contentType` after `milliseconds`.
        case success(body: [UInt8], contentType: String, milliseconds: Double)
        /// The handler's generator ended after yielding `chunks` items (sent as `chunk` messages).
        case streamed(chunks: Int, contentType: String, milliseconds: Double)
        /// The stream was stopped because its client went away (the generator was closed).
        case cancelled(error: String, milliseconds: Double)
        /// The handler raised.
        case handlerError(error: String, traceback: String, milliseconds: Double)
        /// The payload could not be decoded as its content type says (a client error).
        case badRequest(error: String)
    }

    /// Decodes a frame; throws `WorkerProtocolError` for an unknown type or a missing or
    /// out-of-range field (numbers never trap: ids and pids must be exact integers in range).
    public init(_ frame: WorkerFrame) throws {
        let h = frame.header
        func string(_ key: String) -> String? { h[key]?.string }
        func integer(_ key: String) throws -> Int {
            guard let n = h[key]?.number, let i = Int(exactly: n), (0...Int(Int32.max)).contains(i) else {
                throw WorkerProtocolError("'\(key)' is missing or not an integer in range")
            }
            return i
        }
        func signed(_ key: String) throws -> Int32 {
            guard let n = h[key]?.number, let i = Int32(exactly: n) else {
                throw WorkerProtocolError("'\(key)' is missing or not an integer in range")
            }
            return i
        }
        /// A duration the worker measured, clamped to a sane range (NaN becomes 0).
        func milliseconds(_ key: String) -> Double {
            guard let n = h[key]?.number, n.isFinite else { return 0 }
            return max(0, min(n, 1e12))
        }
        switch string("type") {
        case "ready":
            if let preloaded = h["preloaded"]?.array {
                self = .zygoteReady(preloaded: preloaded.compactMap(\.string))
            } else {
                self = .ready(initMilliseconds: milliseconds("init_ms"), warmupMilliseconds: milliseconds("warmup_ms"))
            }
        case "init_error":
            self = .initError(error: string("error") ?? "unknown error", traceback: string("traceback") ?? "")
        case "result":
            let id = try integer("id")
            let duration = milliseconds("duration_ms")
            switch (h["ok"]?.bool, string("kind")) {
            case (true, _) where h["chunks"] != nil:
                guard let n = h["chunks"]?.number, let chunks = Int(exactly: n), chunks >= 0 else {
                    throw WorkerProtocolError("'chunks' is not a count")
                }
                self = .result(id: id, .streamed(
                    chunks: chunks, contentType: string("content_type") ?? "application/octet-stream", milliseconds: duration))
            case (true, _):
                self = .result(id: id, .success(
                    body: frame.body, contentType: string("content_type") ?? "application/octet-stream", milliseconds: duration))
            case (false, "cancelled"):
                self = .result(id: id, .cancelled(error: string("error") ?? "the client went away", milliseconds: duration))
            case (false, "bad_request"):
                self = .result(id: id, .badRequest(error: string("error") ?? "the payload could not be decoded"))
            case (false, _):
                self = .result(id: id, .handlerError(
                    error: string("error") ?? "unknown error", traceback: string("traceback") ?? "", milliseconds: duration))
            case (nil, _):
                throw WorkerProtocolError("a result without 'ok'")
            }
        case "chunk":
            self = .chunk(id: try integer("id"), body: frame.body, contentType: string("content_type"))
        case "resized":
            let id = try integer("id")
            let ok = h["ok"]?.bool ?? false
            self = .resized(
                id: id, adjusted: h["adjusted"]?.array?.compactMap(\.string) ?? [],
                error: ok ? nil : (string("error") ?? "unknown error"))
        case "forked":
            self = .forked(id: try integer("id"), pid: Int32(try integer("pid")))
        case "fork_error":
            self = .forkError(id: try integer("id"), error: string("error") ?? "fork failed")
        case "exited":
            self = .exited(pid: Int32(try integer("pid")), status: try signed("status"))
        case let other:
            throw WorkerProtocolError("a message of unknown type \(other.map { "'\($0)'" } ?? "(none)")")
        }
    }
}
