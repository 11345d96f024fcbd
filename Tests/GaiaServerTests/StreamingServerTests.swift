import AsyncHTTPClient
import Foundation
import GaiaRuntime
import GaiaStore
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

/// Streamed answers over a live port: a generator handler's items reach the client as they are
/// made, over chunked transfer and as Server-Sent Events, and a client that disconnects stops the
/// generator.
struct StreamingServerTests {
    /// Yields `n` lines `gap` seconds apart, each saying when it was made; with `marker` (a file
    /// name in its temporary folder), writes it when the generator is closed early.
    static let source = """
        import os, tempfile, time

        def handle(payload, context):
            i = -1
            try:
                for i in range(payload.get("n", 5)):
                    if i:
                        time.sleep(payload.get("gap", 0.2))
                    yield f"chunk {i} at {time.time():.6f}\\n"
            except GeneratorExit:
                if payload.get("marker"):
                    with open(os.path.join(tempfile.gettempdir(), payload["marker"]), "w") as marker:
                        marker.write(f"closed after item {i}")
                raise
        """

    /// Runs `body` with a server on a live port that has the `tokens` function deployed.
    func withServer(_ body: @Sendable (Int, FunctionRuntime) async throws -> Void) async throws {
        let (app, runtime) = try GaiaServerTests().app()
        try await app.test(.live) { client in
            try await client.execute(uri: "/v1/functions", method: .post, body: GaiaServerTests.deployBody("tokens", Self.source)) {
                #expect($0.status == .created)
            }
            try await body(try #require(client.port), runtime)
        }
        await runtime.shutdown()
    }

    static func request(_ port: Int, _ json: String, accept: String? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/functions/tokens/invoke")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let accept { request.headers.add(name: "Accept", value: accept) }
        request.body = .bytes(ByteBuffer(string: json))
        return request
    }

    /// The lines of a response as they arrived: (line, wall time it arrived).
    static func lines(of response: HTTPClientResponse) async throws -> [(line: String, at: Double)] {
        var lines: [(line: String, at: Double)] = []
        var pending = ""
        for try await buffer in response.body {
            let at = Date().timeIntervalSince1970
            pending += String(buffer: buffer)
            while let newline = pending.firstIndex(of: "\n") {
                lines.append((String(pending[..<newline]), at))
                pending = String(pending[pending.index(after: newline)...])
            }
        }
        return lines
    }

    /// Checks that each `chunk I at T` line arrived within 100 ms of T and the first before the last was made.
    static func checkTiming(_ lines: [(line: String, at: Double)], prefix: String = "") throws {
        let chunks = lines.filter { $0.line.hasPrefix(prefix + "chunk ") }
        try #require(chunks.count == 5, "\(lines.map(\.line))")
        var made: [Double] = []
        for (i, chunk) in chunks.enumerated() {
            let words = chunk.line.dropFirst(prefix.count).split(separator: " ")
            #expect(words[1] == "\(i)")
            let at = try #require(Double(words[3]))
            made.append(at)
            #expect(chunk.at - at < 0.1, "chunk \(i) arrived \(Int((chunk.at - at) * 1000)) ms after it was made")
        }
        #expect(chunks[0].at < made[4], "the first chunk arrived before the last was made")
    }

    @Test func chunksArriveAsTheyAreMadeOverChunkedTransfer() async throws {
        try await withServer { port, _ in
            let response = try await HTTPClient.shared.execute(Self.request(port, #"{"n": 5, "gap": 0.2}"#), timeout: .seconds(30))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "Content-Type") == "text/plain; charset=utf-8")
            #expect(response.headers.first(name: "Gaia-Streamed") == "true")
            #expect(response.headers.first(name: "Transfer-Encoding") == "chunked")
            try Self.checkTiming(try await Self.lines(of: response))
        }
    }

    @Test func chunksArriveAsServerSentEventsWhenAskedFor() async throws {
        try await withServer { port, _ in
            let response = try await HTTPClient.shared.execute(
                Self.request(port, #"{"n": 5, "gap": 0.2}"#, accept: "text/event-stream"), timeout: .seconds(30))
            #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
            let lines = try await Self.lines(of: response)
            try Self.checkTiming(lines, prefix: "data: ")
            let text = lines.map(\.line)
            let done = try #require(text.firstIndex(of: "event: done"), "\(text)")
            #expect(text[done + 1].hasPrefix("data: {") && text[done + 1].contains(#""chunks":5"#), "\(text[done + 1])")
            #expect(text.filter { $0.isEmpty }.count == 6, "each event ends with an empty line")
        }
    }

    @Test func aClientThatDisconnectsStopsTheGenerator() async throws {
        let python = try #require(GaiaServerTests.python)
        try await withServer { port, runtime in
            let name = "gaia-marker-\(UUID().uuidString)"
            let marker = GaiaServerTests.sharedTemporaryFolder(data: runtime.configuration.dataDirectory, function: "tokens") + "/" + name
            let client = Process()
            client.executableURL = URL(fileURLWithPath: python)
            let body = #"{"n": 100, "gap": 0.1, "marker": "\#(name)"}"#
            client.arguments = ["-c", """
                import socket
                s = socket.create_connection(("127.0.0.1", \(port)))
                body = b'\(body)'
                s.sendall(b"POST /v1/functions/tokens/invoke HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (len(body), body))
                seen = b""
                while seen.count(b"chunk ") < 2:
                    seen += s.recv(4096)
                s.close()
                """]
            try client.run()
            client.waitUntilExit()
            #expect(client.terminationStatus == 0)
            let started = ContinuousClock.now
            while !FileManager.default.fileExists(atPath: marker) && ContinuousClock.now - started < .seconds(5) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let closed = try #require(FileManager.default.contents(atPath: marker).map { String(decoding: $0, as: UTF8.self) }, "the generator was closed")
            let item = try #require(Int(closed.split(separator: " ").last ?? ""))
            #expect(item < 6, "closed after item \(item) of 100")
            // The instance serves the next request, and the cancelled one is recorded as 499.
            let next = try await HTTPClient.shared.execute(Self.request(port, #"{"n": 2, "gap": 0}"#), timeout: .seconds(30))
            #expect(try await Self.lines(of: next).count == 2)
            await runtime.flushRecords()
            let statuses = try runtime.database.invocations(of: "tokens", limit: 10).map(\.status)
            #expect(statuses.sorted() == [200, 499], "\(statuses)")
            let metrics = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(10))
            let text = String(buffer: try await metrics.body.collect(upTo: 1 << 20))
            #expect(text.contains(#"gaia_invocations_total{function="tokens",backend="cpu-1",status="499"} 1"#), "\(text)")
            #expect(text.contains(#"gaia_time_to_first_chunk_seconds_count{function="tokens"} 2"#), "\(text)")
        }
    }
}
