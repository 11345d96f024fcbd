import Foundation
import GaiaCore
import Testing

@testable import GaiaRuntime

/// Starts real worker processes (`python3` + gaia_worker.py) on the fixture functions.
struct WorkerProcessTests {
    static let python: String? = try? PythonInterpreter.resolve("python3")

    func worker(_ fixture: String, backend: Backend = .cpu(cores: 1), cpus: [Int] = [], memoryLimitMB: Int = 0, concurrency: Int = 1) throws -> WorkerProcess {
        let python = try #require(Self.python, "python3 is required for worker tests")
        let dir = try #require(Bundle.module.path(forResource: fixture, ofType: nil, inDirectory: "Fixtures"))
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-test-\(fixture)-\(UUID().uuidString).log").path
        return WorkerProcess(configuration: WorkerConfiguration(
            python: python, functionDirectory: dir, functionName: fixture, backend: backend, cpus: cpus, logPath: log,
            memoryLimitMB: memoryLimitMB, concurrency: concurrency))
    }

    func json(_ object: [String: Any]) throws -> [UInt8] { Array(try JSONSerialization.data(withJSONObject: object)) }

    func decode(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// A function that writes its own frames to the protocol (untrusted code may): a malformed
    /// header, an id no integer can hold or that is not a number, 100,000 nested arrays, a 4 GiB
    /// header length, or answers to requests nobody sent without end: each fails that instance
    /// with a clear error; nothing traps or stalls.
    @Test(arguments: [
        ("garbage", "not a JSON object"), ("id", "'id'"), ("nan", "not a JSON object"), ("deep", "not a JSON object"),
        ("huge", "a frame header of 4294967295 bytes"), ("endless", "request 999999, which is not waiting"),
    ])
    func aMalformedFrameFailsTheInstanceClearly(kind: String, says: String) async throws {
        let w = try worker("malformed")
        try await w.start()
        let pid = await w.pid
        do {
            _ = try await w.invoke(try json(["kind": kind]), contentType: "application/json")
            Issue.record("a malformed frame must fail the invocation")
        } catch WorkerError.protocolViolation(let what) {
            #expect(what.contains(says), "\(kind): \(what)")
        }
        await w.waitUntilEnded()
        #expect(await !w.isAlive)
        #expect(!Zygote.processExists(pid), "the instance was killed and reaped")
    }

    @Test func echoesJSONBytesAndTextAfterInit() async throws {
        let w = try worker("echo")
        try await w.start()
        defer { Task { await w.terminate() } }
        let first = try await w.invoke(try json(["x": 1]), contentType: "application/json")
        #expect(first.contentType == "application/json")
        let decoded = try decode(first.body)
        #expect(decoded["calls"] as? Int == -999, "init must run once before the first request")
        let raw: [UInt8] = [0, 1, 2, 255]
        let bytes = try await w.invoke(raw, contentType: "application/octet-stream")
        #expect(bytes.body == raw && bytes.contentType == "application/octet-stream")
        let text = try await w.invoke(try json(["text": "héllo"]), contentType: "application/json")
        #expect(String(decoding: text.body, as: UTF8.self) == "héllo")
        #expect(text.contentType.hasPrefix("text/plain"))
    }

    @Test func runsWithTheBackendsLimits() async throws {
        let w = try worker("info", backend: .cpu(cores: 1), cpus: [0])
        try await w.start()
        defer { Task { await w.terminate() } }
        let info = try decode(try await w.invoke(try json([:]), contentType: "application/json").body)
        #expect(info["cpus"] as? [Int] == [0])
        #expect(info["omp"] as? String == "1" && info["openblas"] as? String == "1")
        #expect(info["cuda"] as? String == "", "CPU rungs hide every GPU")
        #expect(info["name"] as? String == "info" && info["backend"] as? String == "cpu-1")
        let log = try String(contentsOfFile: w.configuration.logPath, encoding: .utf8)
        #expect(log.contains("must not corrupt the protocol"), "the handler's prints go to the instance log")
    }

    @Test func theMemoryLimitStopsAnAllocationAndTheInstanceSurvives() async throws {
        let w = try worker("hungry", memoryLimitMB: 512)
        try await w.start()
        defer { Task { await w.terminate() } }
        let small = try decode(try await w.invoke(try json(["mb": 64]), contentType: "application/json").body)
        #expect(small["allocated_mb"] as? Int == 64)
        await #expect(throws: WorkerError.self) {
            _ = try await w.invoke(try json(["mb": 2048]), contentType: "application/json")
        }
        do {
            _ = try await w.invoke(try json(["mb": 2048]), contentType: "application/json")
        } catch WorkerError.handlerFailed(let error, _) {
            #expect(error.hasPrefix("MemoryError"))
        }
        #expect(await w.isAlive)
    }

    @Test func anInstanceWithConcurrencyTwoRunsTwoRequestsAtOnce() async throws {
        let w = try worker("slow", concurrency: 2)
        try await w.start()
        defer { Task { await w.terminate() } }
        let body = try json(["seconds": 1.0])
        let clock = ContinuousClock()
        let started = clock.now
        async let a = w.invoke(body, contentType: "application/json")
        async let b = w.invoke(body, contentType: "application/json")
        let (ra, rb) = try await (a, b)
        #expect(String(decoding: ra.body, as: UTF8.self) == "woke up" && String(decoding: rb.body, as: UTF8.self) == "woke up")
        #expect(clock.now - started < .milliseconds(1800), "two 1 s requests overlapped (one by one would take 2 s)")
    }

    @Test func aRaisingHandlerReportsItsErrorAndKeepsServing() async throws {
        let w = try worker("raising")
        try await w.start()
        defer { Task { await w.terminate() } }
        do {
            _ = try await w.invoke(try json(["fail": "nope"]), contentType: "application/json")
            Issue.record("expected the handler's error")
        } catch WorkerError.handlerFailed(let error, let traceback) {
            #expect(error == "ValueError: bad input: nope")
            #expect(traceback.contains("raise ValueError"))
        }
        let next = try await w.invoke(try json([:]), contentType: "application/json")
        #expect(String(decoding: next.body, as: UTF8.self) == "fine")
    }

    /// An instance that exits while a grandchild it started in a session of its own (beyond the
    /// group kill, and here with no cgroup: not sandboxed) still holds its output open: its end is
    /// seen when it is reaped, not when the grandchild lets go, fresh or forked.
    @Test(arguments: [false, true])
    func anInstanceThatExitsIsSeenToEndThoughAChildHoldsItsOutput(forked: Bool) async throws {
        let python = try #require(Self.python, "python3 is required for worker tests")
        let dir = try #require(Bundle.module.path(forResource: "exiting", ofType: nil, inDirectory: "Fixtures"))
        let zygote = forked ? Zygote(python: python, preload: [], logPath: FileManager.default.temporaryDirectory.appendingPathComponent("gaia-test-zygote-\(UUID().uuidString).log").path) : nil
        let w = WorkerProcess(configuration: WorkerConfiguration(
            python: python, functionDirectory: dir, functionName: "exiting", backend: .cpu(cores: 1),
            logPath: FileManager.default.temporaryDirectory.appendingPathComponent("gaia-test-exiting-\(UUID().uuidString).log").path, zygote: zygote))
        try await w.start()
        let started = ContinuousClock.now
        await #expect(throws: WorkerError.self) { _ = try await w.invoke(try json(["leave_a_child": true]), contentType: "application/json") }
        await w.waitUntilEnded()
        #expect(ContinuousClock.now - started < .seconds(5), "the end was seen in \(ContinuousClock.now - started), not after the grandchild's 30 s")
        await zygote?.stop()
    }

    @Test func aHandlerThatExitsIsReportedAsACrash() async throws {
        let w = try worker("exiting")
        try await w.start()
        await #expect(throws: WorkerError.crashed(status: 1, logTail: "")) {
            _ = try await w.invoke(try json([:]), contentType: "application/json")
        }
        #expect(await w.isAlive == false)
    }

    @Test func aSlowHandlerIsKilledAtTheTimeout() async throws {
        let w = try worker("slow")
        try await w.start()
        let clock = ContinuousClock()
        let started = clock.now
        await #expect(throws: WorkerError.timedOut(after: .milliseconds(300))) {
            _ = try await w.invoke(try json(["seconds": 30]), contentType: "application/json", timeout: .milliseconds(300))
        }
        #expect(clock.now - started < .seconds(10))
        #expect(await w.isAlive == false)
    }

    @Test func importFailuresInInitAreReported() async throws {
        let w = try worker("broken_init")
        do {
            try await w.start()
            Issue.record("expected an init failure")
        } catch WorkerError.initFailed(let error, _) {
            #expect(error.contains("ModuleNotFoundError") && error.contains("gaia_no_such_module_for_tests"))
        }
        #expect(await w.isAlive == false)
    }

    @Test func aFileWithoutTheHandlerIsReported() async throws {
        let w = try worker("no_handler")
        do {
            try await w.start()
            Issue.record("expected an init failure")
        } catch WorkerError.initFailed(let error, _) {
            #expect(error.contains("defines no function 'handle(payload, context)'"))
        }
    }
}

struct WorkerFrameTests {
    @Test func decodesFramesSplitAcrossReads() throws {
        let a = WorkerFrame(header: ["type": .string("result"), "ok": .bool(true), "id": .number(7)], body: Array("hi".utf8))
        let b = WorkerFrame(header: ["type": .string("ready"), "x": .null], body: [])
        let bytes = try a.encoded() + b.encoded()
        var buffer: [UInt8] = []
        var decoded: [WorkerFrame] = []
        for byte in bytes {
            buffer.append(byte)
            while let frame = try WorkerFrame.decode(from: &buffer) { decoded.append(frame) }
        }
        #expect(decoded == [a, b])
        #expect(buffer.isEmpty)
    }
}
