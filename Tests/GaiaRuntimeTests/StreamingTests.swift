import Foundation
import GaiaCore
import Testing

@testable import GaiaRuntime

/// A handler that returns a generator streams: a real worker sends each item as it is made, to the
/// invocation's `ResponseStream` or collected into one answer; a stream whose client went away
/// closes the generator; an error midway fails the invocation and the instance keeps serving.
struct StreamingTests {
    let workers = WorkerProcessTests()

    func payload(_ object: [String: Any]) throws -> [UInt8] { try workers.json(object) }

    /// Reads `stream` to its end: each chunk with the wall time it arrived.
    static func read(_ stream: ResponseStream) async -> [(bytes: [UInt8], at: Double)] {
        var chunks: [(bytes: [UInt8], at: Double)] = []
        for await chunk in stream.chunks { chunks.append((chunk, Date().timeIntervalSince1970)) }
        return chunks
    }

    @Test func eachItemArrivesAsItIsMade() async throws {
        let w = try workers.worker("streaming")
        try await w.start()
        defer { Task { await w.terminate() } }
        let stream = ResponseStream()
        let reader = Task { await Self.read(stream) }
        let response = try await w.invoke(try payload(["n": 5, "gap": 0.2]), contentType: "application/json", stream: stream)
        stream.finish()
        let chunks = await reader.value
        #expect(response.chunks == 5 && response.body.isEmpty && response.handlerMilliseconds >= 800)
        #expect(stream.contentType == "text/plain; charset=utf-8")
        try #require(chunks.count == 5)
        for (i, chunk) in chunks.enumerated() {
            let words = String(decoding: chunk.bytes, as: UTF8.self).split(separator: " ")
            #expect(words.first == "chunk" && words[1] == "\(i)")
            let made = try #require(Double(words[3].trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(chunk.at - made < 0.1, "chunk \(i) arrived \(chunk.at - made) s after it was made")
        }
        #expect(chunks[4].at - chunks[0].at > 0.7, "the first chunk came before the last was made")
    }

    @Test func withoutAStreamTheItemsAreCollectedIntoOneAnswer() async throws {
        let w = try workers.worker("streaming")
        try await w.start()
        defer { Task { await w.terminate() } }
        let text = try await w.invoke(try payload(["n": 3, "gap": 0]), contentType: "application/json")
        #expect(text.chunks == 3 && text.contentType == "text/plain; charset=utf-8")
        #expect(String(decoding: text.body, as: UTF8.self).split(separator: "\n").map { $0.prefix(7) } == ["chunk 0", "chunk 1", "chunk 2"])
        let lines = try await w.invoke(try payload(["n": 3, "json": true, "async": true]), contentType: "application/json")
        #expect(lines.chunks == 3 && lines.contentType == "application/x-ndjson", "an async generator's JSON items are JSON lines")
        let objects = try String(decoding: lines.body, as: UTF8.self).split(separator: "\n").map { try workers.decode(Array($0.utf8)) }
        #expect(objects.map { $0["i"] as? Int } == [0, 1, 2])
        let plain = try await w.invoke(try payload(["plain": true]), contentType: "application/json")
        #expect(plain.chunks == nil && String(decoding: plain.body, as: UTF8.self) == "not a stream")
    }

    @Test func aClientThatGoesAwayClosesTheGenerator() async throws {
        let w = try workers.worker("streaming")
        try await w.start()
        defer { Task { await w.terminate() } }
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-marker-\(UUID().uuidString)").path
        let stream = ResponseStream()
        let invocation = Task {
            try await w.invoke(try payload(["n": 50, "gap": 0.1, "marker": marker]), contentType: "application/json", stream: stream)
        }
        var seen = 0
        for await _ in stream.chunks {
            seen += 1
            if seen == 2 {
                stream.cancel()
                break
            }
        }
        await #expect(throws: WorkerError.self) { try await invocation.value }
        if case .failure(WorkerError.cancelled(let why)) = await invocation.result { #expect(why.contains("went away"), "\(why)") }
        let closed = try #require(FileManager.default.contents(atPath: marker).map { String(decoding: $0, as: UTF8.self) }, "the generator was closed")
        let item = try #require(Int(closed.split(separator: " ").last ?? ""))
        #expect(item < 5, "closed after item \(item) of 50")
        let next = try await w.invoke(try payload(["plain": true]), contentType: "application/json")
        #expect(String(decoding: next.body, as: UTF8.self) == "not a stream", "the instance keeps serving")
    }

    @Test func aResizeDuringAStreamIsAnsweredBetweenTwoItems() async throws {
        let w = try workers.worker("streaming")
        try await w.start()
        defer { Task { await w.terminate() } }
        let started = ContinuousClock.now
        let streaming = Task { try await w.invoke(try payload(["n": 20, "gap": 0.1]), contentType: "application/json") }
        try await Task.sleep(for: .milliseconds(300))
        let adjusted = try await w.resize(to: .cpu(cores: 1), cpus: [0])
        let resizedAfter = ContinuousClock.now - started
        #expect(adjusted.contains("affinity"))
        #expect(resizedAfter < .milliseconds(1200), "answered after \(resizedAfter), while the 2 s stream ran")
        #expect(try await streaming.value.chunks == 20)
    }

    @Test func anErrorMidwayFailsTheInvocationAndTheInstanceSurvives() async throws {
        let w = try workers.worker("streaming", concurrency: 2)
        try await w.start()
        defer { Task { await w.terminate() } }
        let stream = ResponseStream()
        let reader = Task { await Self.read(stream) }
        do {
            _ = try await w.invoke(try payload(["n": 2, "gap": 0, "fail": true]), contentType: "application/json", stream: stream)
            Issue.record("a generator that raises fails its invocation")
        } catch WorkerError.handlerFailed(let error, _) {
            #expect(error == "RuntimeError: failed after 2 items")
        }
        stream.finish()
        #expect(await reader.value.count == 2, "the items before the error were sent")
        // With a thread pool (concurrency 2) the main loop reads the cancel while the stream runs.
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-marker-\(UUID().uuidString)").path
        let second = ResponseStream()
        let invocation = Task {
            try await w.invoke(try payload(["n": 50, "gap": 0.05, "marker": marker]), contentType: "application/json", stream: second)
        }
        for await _ in second.chunks {
            second.cancel()
            break
        }
        await #expect(throws: WorkerError.self) { try await invocation.value }
        #expect(FileManager.default.fileExists(atPath: marker), "the pooled generator was closed too")
    }
}
