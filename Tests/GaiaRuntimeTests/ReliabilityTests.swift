import Foundation
import GaiaCore
@testable import GaiaRuntime
import GaiaStore
import Testing

/// The runtime side of the reliability audit (issue 30): stored settings out of bounds, the
/// machine's instance capacity shared fairly, a removal that stops a deploy, records committed
/// before answers.
struct ReliabilityTests {
    static let echo = Array("def handle(payload, context):\n    return payload\n".utf8)

    /// A store holding what an older server accepted (`min_scale` 11 with no maximum, 10 by default;
    /// a minimum beyond the machine; a concurrency of 0): the server restores it within bounds and
    /// keeps ticking past the panic window, where the autoscaler trapped on `11...10` before.
    @Test func aStoredSettingOutOfBoundsIsBoundedAtRestartAndNeverTraps() async throws {
        let database = try GaiaDatabase.inMemory()
        let configuration = try testRuntime("bounded") { $0.maxInstances = 4 }.configuration
        let folder = "\(configuration.dataDirectory)/src"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: "\(folder)/handler.py", contents: Data(Self.echo))
        let stored: [(String, Int?, Int?, Int?)] = [("over-default", 11, nil, nil), ("over-machine", 9, 20, nil), ("no-slots", nil, nil, 0)]
        for (name, minScale, maxScale, concurrency) in stored {
            var manifest = FunctionManifest(
                name: name, entryPoint: "handler.py", handler: "handle", detectedMode: .cpu, confidence: 1, rationale: "", evidence: [],
                frameworks: [], estimatedWork: WorkEstimate(), partial: false, diagnostics: [], analyzerVersion: "test")
            (manifest.minScale, manifest.maxScale, manifest.concurrency) = (minScale, maxScale, concurrency)
            try database.deploy(name: name, manifest: manifest, sourceDirectory: folder)
        }
        let runtime = FunctionRuntime(configuration: configuration, database: database)
        try await runtime.restore()
        // 11 is lowered to the default maximum, 10, then to what the machine holds; 9 to that.
        #expect(try await runtime.function("over-default").manifest.minScale == 4)
        #expect(try await runtime.function("over-machine").manifest.minScale == 4)
        #expect(try await runtime.function("no-slots").manifest.concurrency == 1)
        let t0 = ContinuousClock.now
        for second in 0..<10 { await runtime.tick(at: t0.advanced(by: .seconds(second))) }
        await runtime.actionsCarriedOut()
        // The machine holds 4: the two minimum scales share them, however much they ask.
        let counts = [await runtime.instanceCount("over-default"), await runtime.instanceCount("over-machine")]
        #expect(counts == [2, 2], "instances: \(counts)")
        #expect(runtime.slots?.inUse == 4)
        await runtime.shutdown()
        #expect(runtime.slots?.inUse == 0, "every slot comes back once the instances have stopped")
    }

    /// A machine that holds one instance: a second function's deploy waits until the fair share
    /// takes the first function's idle instance away; a request of the first then answers 503 with
    /// the reason, and is served once the next tick has shared the slot out again.
    @Test func instancesAreBoundedByTheMachineAndSharedFairly() async throws {
        let runtime = try testRuntime("capacity") { $0.maxInstances = 1 }
        try await runtime.deploy(DeployRequest(name: "first", files: ["handler.py": Self.echo]))
        await #expect(throws: PlatformError.self, "a minimum the machine can never hold") {
            try await runtime.deploy(DeployRequest(name: "second", files: ["handler.py": Self.echo], minScale: 2))
        }
        let deploy = Task { try await runtime.deploy(DeployRequest(name: "second", files: ["handler.py": Self.echo])) }
        let t0 = ContinuousClock.now
        var second = 0.0
        while await runtime.instanceCount("second") == 0 {
            await runtime.tick(at: t0.advanced(by: .milliseconds(Int64(second * 1000))))
            second += 0.25
            try #require(second < 40, "the second deploy got no room")
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try await deploy.value
        #expect(await runtime.instanceCount("first") == 0, "the first function's idle instance made room")
        let refused = await #expect(throws: PoolError.self) {
            _ = try await runtime.invoke("first", body: Array("{}".utf8), contentType: "application/json")
        }
        #expect(refused?.description.contains("the machine runs the most instances it holds, 1 instance") == true, "\(String(describing: refused))")
        var served = false
        for step in 0..<40 where !served {
            await runtime.tick(at: t0.advanced(by: .seconds(30 + step)))
            served = (try? await runtime.invoke("first", body: Array("{}".utf8), contentType: "application/json")) != nil
            if !served { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(served, "the first function is served once the slot is shared out again")
        #expect(runtime.slots?.inUse ?? 0 <= 1)
        await runtime.shutdown()
    }

    /// `gaia rm` of a function whose deploy hangs in `init`: the removal returns at once, the deploy
    /// answers that it was cancelled, and no process of it is left.
    @Test func removingAFunctionCancelsItsDeployAndLeavesNoProcess() async throws {
        let runtime = try testRuntime("rm-deploy")
        let spinning = "import os\ndef init(context):\n    print('spinning', os.getpid(), flush=True)\n    while True:\n        pass\n\ndef handle(payload, context):\n    return payload\n"
        let deploy = Task { try await runtime.deploy(DeployRequest(name: "spin", files: ["handler.py": Array(spinning.utf8)])) }
        let logs = runtime.configuration.dataDirectory + "/logs/spin"
        var pid: Int32?
        let waited = ContinuousClock.now
        while pid == nil {
            try #require(ContinuousClock.now - waited < .seconds(20), "the function's init never started")
            for file in (try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? [] {
                let text = (try? String(contentsOfFile: "\(logs)/\(file)", encoding: .utf8)) ?? ""
                // Each line begins with its time: "2026-…Z spinning PID".
                if let line = text.split(separator: "\n").first(where: { $0.contains(" spinning ") }) {
                    pid = line.split(separator: " ").drop { $0 != "spinning" }.dropFirst().first.flatMap { Int32($0) }
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let removing = ContinuousClock.now
        do {
            try await runtime.remove("spin")
        } catch {
            Issue.record("gaia rm failed: \(error); the deploy: \(await deploy.result)")
        }
        let took = ContinuousClock.now - removing
        #expect(took < .seconds(2), "gaia rm took \(took)")
        let error = await #expect(throws: PlatformError.self) { try await deploy.value }
        #expect(error?.code == "cancelled", "\(String(describing: error))")
        #expect(kill(pid!, 0) != 0, "the spinning instance \(pid!) is gone")
        await #expect(throws: PlatformError.self) { try await runtime.function("spin") }
        await runtime.shutdown()
    }

    /// An invocation's record is in the journal when `invoke` returns (no tick, no flush): a new
    /// process over the same folder (as after `kill -9`) commits it at start, exactly once, however
    /// often a journal file is applied.
    @Test func recordsAreJournaledBeforeTheAnswerAndRecoveredAfterAKill() async throws {
        let runtime = try testRuntime("records")
        let data = runtime.configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let database = try GaiaDatabase(path: data + "/gaia.sqlite")
        let killed = FunctionRuntime(configuration: runtime.configuration, database: database)
        try await killed.deploy(DeployRequest(name: "echo", files: ["handler.py": Self.echo], maxScale: 1, concurrency: 8))
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    let result = try await killed.invoke("echo", body: Array("{}".utf8), contentType: "application/json")
                    let journal = (try? String(contentsOfFile: data + "/records.journal", encoding: .utf8)) ?? ""
                    #expect(journal.contains(result.id), "the record of \(result.id) is in the journal when invoke returns")
                    return result.id
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(ids).count == 64)
        #expect(try ids.allSatisfy { try database.invocation(id: $0) == nil }, "nothing was flushed to the database yet")
        // A new process over the same folder: what the journal holds is committed at start, once.
        for _ in 0..<2 {
            let restarted = FunctionRuntime(configuration: runtime.configuration, database: database)
            try await restarted.restore()
            #expect(try ids.allSatisfy { try database.invocation(id: $0) != nil })
            #expect(try database.invocations(of: "echo", limit: 1000).count == 64, "each record once")
            await restarted.shutdown()
        }
        var record = try #require(try database.invocation(id: ids[0]))
        record.id = nil
        try await database.applyJournal([(42, [record])])
        try await database.applyJournal([(42, [record])])
        #expect(try database.invocations(of: "echo", limit: 1000).count == 65, "a journal file applied twice counts once")
        await killed.shutdown()
    }
}

/// Flushes that overlap (the tick's and a query's) apply each journal file once and never lose
/// track of what is left.
struct JournalFlushTests {
    @Test func overlappingFlushesStoreEveryRecordOnce() async throws {
        let runtime = try testRuntime("flushes")
        try await runtime.deploy(DeployRequest(name: "echo", files: ["handler.py": ReliabilityTests.echo], maxScale: 1, concurrency: 8))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<100 {  // within what one instance of 8 slots and the queue (100) take
                group.addTask {
                    _ = try await runtime.invoke("echo", body: Array("{}".utf8), contentType: "application/json")
                    if i % 6 == 0 { await runtime.flushRecords() }
                }
            }
            try await group.waitForAll()
        }
        await runtime.flushRecords()
        let ids = try runtime.database.invocations(of: "echo", limit: 1000).compactMap(\.invocationId)
        #expect(ids.count == 100 && Set(ids).count == 100, "\(ids.count) records, \(Set(ids).count) distinct")
        await runtime.shutdown()
    }
}
