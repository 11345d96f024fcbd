import Foundation
import GaiaCore
import Testing

@testable import GaiaRuntime

/// Instances forked from the fork server: they serve, are limited, killed on timeout and reaped,
/// and a crashed fork server is replaced.
@Suite(.serialized)
struct ZygoteTests {
    func zygote() throws -> Zygote {
        let python = try #require(WorkerProcessTests.python, "python3 is required for fork-server tests")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-zygote-\(UUID().uuidString).log").path
        return Zygote(python: python, preload: ["numpy"], logPath: log)
    }

    func worker(_ fixture: String, from zygote: Zygote, cpus: [Int] = [], memoryLimitMB: Int = 0) throws -> WorkerProcess {
        let python = try #require(WorkerProcessTests.python)
        let dir = try #require(Bundle.module.path(forResource: fixture, ofType: nil, inDirectory: "Fixtures"))
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-forked-\(fixture)-\(UUID().uuidString).log").path
        return WorkerProcess(configuration: WorkerConfiguration(
            python: python, functionDirectory: dir, functionName: fixture, backend: .cpu(cores: 1), cpus: cpus, logPath: log,
            memoryLimitMB: memoryLimitMB, zygote: zygote))
    }

    func parentPID(of pid: Int32) -> Int32? { ProcessStatus(of: pid)?.parent }

    @Test func aForkedInstanceServesIsLimitedAndIsReapedWhenTerminated() async throws {
        let z = try zygote()
        let w = try worker("info", from: z, cpus: [0])
        try await w.start()
        let zygotePID = try #require(await z.pid)
        let pid = await w.pid
        #expect(await w.isForked)
        #expect(parentPID(of: pid) == zygotePID, "the instance is the fork server's child")
        #expect(await z.preloaded == ["numpy"])
        let response = try await w.invoke(Array("{}".utf8), contentType: "application/json")
        let info = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(info["cpus"] as? [Int] == [0], "pinned like any instance")
        #expect(info["cuda"] as? String == "", "no GPU visible")
        #expect(info["name"] as? String == "info")
        await w.terminate()
        #expect(!Zygote.processExists(pid), "killed and reaped, not left a zombie")
        await z.stop()
    }

    @Test func aTimeoutKillsTheForkedInstanceAndACrashReportsItsStatus() async throws {
        let z = try zygote()
        let slow = try worker("slow", from: z)
        try await slow.start()
        let pid = await slow.pid
        await #expect(throws: WorkerError.timedOut(after: .milliseconds(300))) {
            try await slow.invoke(Array(#"{"seconds": 5}"#.utf8), contentType: "application/json", timeout: .milliseconds(300))
        }
        #expect(!Zygote.processExists(pid))
        let exiting = try worker("exiting", from: z)
        try await exiting.start()
        do {
            _ = try await exiting.invoke(Array("{}".utf8), contentType: "application/json")
            Issue.record("the instance should have exited")
        } catch WorkerError.crashed(let status, _) {
            #expect(status != -1, "the fork server reported the real exit status: \(status)")
        }
        await z.stop()
    }

    @Test func aCrashedForkServerIsReplacedAndItsChildrenKeepServing() async throws {
        let z = try zygote()
        let first = try worker("echo", from: z)
        try await first.start()
        let oldZygote = try #require(await z.pid)
        kill(oldZygote, SIGKILL)
        // The next fork starts a new fork server; the orphaned instance still answers.
        let second = try worker("echo", from: z)
        try await second.start()
        let newZygote = try #require(await z.pid)
        #expect(newZygote != oldZygote)
        #expect(await z.starts == 2)
        for w in [first, second] {
            let r = try await w.invoke(Array(#"{"a": 1}"#.utf8), contentType: "application/json")
            #expect(String(decoding: r.body, as: UTF8.self).contains(#"{"a": 1}"#))
        }
        let orphan = await first.pid
        await first.terminate()
        #expect(!Zygote.processExists(orphan))
        await second.terminate()
        await z.stop()
    }

    @Test func forkedInstancesCountAgainstThePoolsLimit() async throws {
        let z = try zygote()
        let python = try #require(WorkerProcessTests.python)
        let dir = try #require(Bundle.module.path(forResource: "slow", ofType: nil, inDirectory: "Fixtures"))
        var settings = PoolSettings()
        settings.maxScale = 2
        let pool = InstancePool(backend: .cpu(cores: 1), settings: settings) { id, backend in
            WorkerConfiguration(
                python: python, functionDirectory: dir, functionName: "slow", backend: backend,
                logPath: FileManager.default.temporaryDirectory.appendingPathComponent("gaia-forked-slow-\(id).log").path, zygote: z)
        }
        let instances = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<6 {
                group.addTask { try await pool.invoke(Array(#"{"seconds": 0.2}"#.utf8), contentType: "application/json").instance }
            }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect(instances.count == 2, "six requests, at most two instances")
        let zygotePID = try #require(await z.pid)
        for pid in await pool.pids { #expect(parentPID(of: pid) == zygotePID) }
        await pool.shutdown()
        await z.stop()
    }
}
