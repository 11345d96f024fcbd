import Foundation
import GaiaCore
import GaiaStore
import Testing

@testable import GaiaRuntime

/// Every process Gaia starts ends reaped, whatever happens to it; replacing the fork server never
/// blocks the platform.
@Suite(.serialized)
struct ProcessLifecycleTests {
    /// Children of this test process that are zombies (ended and never reaped).
    static func zombieChildren() -> [Int32] {
        let me = getpid()
        return ProcessStatus.all().filter { $0.value.state == "Z" && $0.value.parent == me }.map(\.key)
    }

    /// Waits, by yielding, until `condition` holds; fails after `seconds`.
    static func eventually(within seconds: Int = 10, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while await !condition() {
            try #require(ContinuousClock.now < deadline, "the expected state never came")
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func runtime() throws -> FunctionRuntime { try testRuntime("life") }

    func source(_ text: String) -> [String: [UInt8]] { ["handler.py": Array(text.utf8)] }

    @Test func aDeployThatWidensTheForkServersPreloadsNeitherBlocksNorStopsTheServing() async throws {
        let rt = try runtime()
        let zygote = try #require(rt.zygote)
        try await rt.deploy(DeployRequest(name: "serving", files: source("import numpy\ndef handle(p, c):\n    return {'ok': True}\n")))
        let firstZygote = try #require(await zygote.pid)
        // Traffic on the first function for the whole test.
        let traffic = Task {
            var served = 0
            while !Task.isCancelled {
                _ = try await rt.invoke("serving", body: Array("{}".utf8), contentType: "application/json")
                served += 1
            }
            return served
        }
        let python = try #require(WorkerProcessTests.python)
        if PythonInterpreter.canImport(["scipy"], python: python) {
            let started = ContinuousClock.now
            try await rt.deploy(DeployRequest(name: "widens", files: source("import scipy\ndef handle(p, c):\n    return scipy.__version__\n")))
            #expect(ContinuousClock.now - started < .seconds(10), "the deploy completes within seconds")
            #expect(await zygote.preloaded?.contains("scipy") == true)
            #expect(await zygote.pid != firstZygote, "a new fork server preloads scipy")
            let answer = try await rt.invoke("widens", body: [], contentType: "application/json")
            #expect(!answer.outcome.response.body.isEmpty)
        } else {
            print("note: scipy is not installed; the importable half of this test is skipped")
        }
        // A module that cannot be imported: left out of the preload, and the function's own
        // ImportError refuses the deploy, with its traceback, within seconds.
        let started = ContinuousClock.now
        do {
            try await rt.deploy(DeployRequest(name: "missing", files: source("import sklearn\ndef handle(p, c):\n    return 1\n")))
            Issue.record("a function whose import fails must be refused")
        } catch let error as PlatformError {
            #expect(error.code == "init_failed")
            #expect(error.message.contains("sklearn") && error.message.contains("Traceback"), "\(error.message)")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        traffic.cancel()
        let served = try await traffic.value
        #expect(served > 0)
        _ = try await rt.invoke("serving", body: Array("{}".utf8), contentType: "application/json")
        // The replaced fork server keeps reaping the instances it forked; it exits with the last.
        await rt.shutdown()
        try await Self.eventually { !Zygote.processExists(firstZygote) }
        #expect(Self.zombieChildren().isEmpty, "no zombie: \(Self.zombieChildren())")
    }

    @Test(arguments: [false, true])
    func aPoolClosedWhileAColdStartIsInFlightLeavesNoProcess(forked: Bool) async throws {
        let python = try #require(WorkerProcessTests.python)
        let dir = try #require(Bundle.module.path(forResource: "slow_init", ofType: nil, inDirectory: "Fixtures"))
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-pid-\(UUID().uuidString)").path
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-slow-init-\(UUID().uuidString).log").path
        let zygote = forked ? Zygote(python: python, logPath: log + ".zygote") : nil
        let pool = InstancePool(backend: .cpu(cores: 1)) { _, backend in
            WorkerConfiguration(
                python: python, functionDirectory: dir, functionName: "slow_init", backend: backend, logPath: log,
                environment: ["GAIA_TEST_PIDFILE": pidFile], zygote: zygote)
        }
        let request = Task { try await pool.invoke(Array("{}".utf8), contentType: "application/json") }
        try await Self.eventually { FileManager.default.fileExists(atPath: pidFile) && ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "") != "" }
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8)))
        #expect(Zygote.processExists(pid), "the instance is starting")
        await pool.shutdown()
        #expect(!Zygote.processExists(pid), "shutdown stopped and reaped the instance whose start was in flight")
        await #expect(throws: (any Error).self) { _ = try await request.value }
        #expect(await pool.instanceCount == 0)
        await zygote?.stop()
        #expect(Self.zombieChildren().isEmpty)
    }

    @Test func aKilledWorkerAndAKilledForkServerAreReaped() async throws {
        let rt = try runtime()
        try await rt.deploy(DeployRequest(name: "echo", files: source("def handle(p, c):\n    return p\n")))
        let zygote = try #require(rt.zygote)
        let zygotePID = try #require(await zygote.pid)
        kill(zygotePID, SIGKILL)
        try await Self.eventually { !Zygote.processExists(zygotePID) }
        // The instance it forked serves on.
        let served = try await rt.invoke("echo", body: Array(#"{"a": 1}"#.utf8), contentType: "application/json")
        #expect(!served.outcome.coldStart)
        // A worker killed between requests is noticed and replaced; the next request is served cold.
        let workerPID = try #require(await rt.pids(of: "echo").first)
        kill(workerPID, SIGKILL)
        try await Self.eventually { await rt.instanceCount("echo") == 0 }
        let next = try await rt.invoke("echo", body: Array(#"{"a": 2}"#.utf8), contentType: "application/json")
        #expect(next.outcome.coldStart, "a new instance (forked from a new fork server)")
        #expect(await zygote.pid != zygotePID)
        await rt.shutdown()
        #expect(Self.zombieChildren().isEmpty, "no zombie: \(Self.zombieChildren())")
    }
}
