import Foundation

/// One message of the worker protocol: a JSON header and a raw body.
///
/// On the wire: 4-byte big-endian header length, the UTF-8 JSON header, 4-byte big-endian body
/// length, the body. `python/gaia_worker.py` (a resource of this target) speaks the other side.
public struct WorkerFrame: Sendable, Equatable {
    /// The decoded JSON header.
    public var header: [String: JSONValue]
    /// The raw body.
    public var body: [UInt8]

    /// Creates a frame.
    public init(header: [String: JSONValue], body: [UInt8] = []) {
        self.header = header
        self.body = body
    }

    /// The frame's bytes.
    public func encoded() throws -> [UInt8] {
        let json = Array(try JSONEncoder().encode(header))
        return Self.length(json.count) + json + Self.length(body.count) + body
    }

    private static func length(_ n: Int) -> [UInt8] {
        let v = UInt32(n)
        return [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    /// Largest header a worker may send.
    public static let maxHeaderBytes = 1 << 20
    /// Largest body a worker may send, unless its configuration says less (`max_response_mb`).
    public static let maxBodyBytes = 256 << 20

    /// Decodes one frame from the front of `buffer`, removing its bytes; nil if it is not complete
    /// yet. Throws `WorkerProtocolError` for a frame over the size limits (a body over
    /// `maxBodyBytes` is refused from its length, before it is read) or a header that is not a
    /// JSON object.
    public static func decode(from buffer: inout [UInt8], maxBodyBytes: Int = maxBodyBytes) throws -> WorkerFrame? {
        func readLength(at i: Int) -> Int? {
            guard buffer.count >= i + 4 else { return nil }
            return Int(buffer[i]) << 24 | Int(buffer[i + 1]) << 16 | Int(buffer[i + 2]) << 8 | Int(buffer[i + 3])
        }
        guard let headerLength = readLength(at: 0) else { return nil }
        guard headerLength <= maxHeaderBytes else {
            throw WorkerProtocolError("a frame header of \(headerLength) bytes (the limit is \(maxHeaderBytes))")
        }
        guard let bodyLength = readLength(at: 4 + headerLength) else { return nil }
        guard bodyLength <= maxBodyBytes else {
            throw WorkerProtocolError("a response of \(bodyLength) bytes, over the limit of \(maxBodyBytes) bytes (max_response_mb)")
        }
        guard buffer.count >= 8 + headerLength + bodyLength else { return nil }
        let header: [String: JSONValue]
        do {
            header = try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer[4..<4 + headerLength]))
        } catch {
            throw WorkerProtocolError("a frame header that is not a JSON object")
        }
        let body = Array(buffer[(8 + headerLength)..<(8 + headerLength + bodyLength)])
        buffer.removeFirst(8 + headerLength + bodyLength)
        return WorkerFrame(header: header, body: body)
    }
}

/// A JSON value in a frame header.
public enum JSONValue: Sendable, Equatable, Codable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    /// Decodes strings, numbers, booleans, arrays, objects and null.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else if let o = try? c.decode([String: JSONValue].self) {
            self = .object(o)
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    /// Encodes the value as plain JSON.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    /// The number, if this is one.
    public var number: Double? { if case .number(let n) = self { n } else { nil } }
    /// The elements, if this is an array.
    public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    /// The boolean, if this is one.
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
}
