import Foundation
import GaiaCore
import Testing

@testable import GaiaRuntime

/// The pool over real worker processes: concurrency, cold starts, the bounded queue, replacement
/// of crashed instances, pre-warming and scale to zero.
struct InstancePoolTests {
    func pool(_ fixture: String, maxScale: Int, queueLimit: Int = 100, timeout: Duration = .seconds(60), concurrency: Int = 1) throws -> InstancePool {
        let python = try #require(WorkerProcessTests.python, "python3 is required for pool tests")
        let dir = try #require(Bundle.module.path(forResource: fixture, ofType: nil, inDirectory: "Fixtures"))
        var settings = PoolSettings()
        settings.maxScale = maxScale
        settings.queueLimit = queueLimit
        settings.invocationTimeout = timeout
        settings.instanceConcurrency = concurrency
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-pool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let machine = Machine.discover()
        return InstancePool(backend: .cpu(cores: 1), settings: settings) { id, backend in
            WorkerConfiguration(python: python, functionDirectory: dir, functionName: fixture, backend: backend,
                                cpus: machine.cores(forInstance: id, on: backend),
                                logPath: "\(logs)/instance-\(id).log", concurrency: concurrency)
        }
    }

    func alive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    /// Waits, by yielding (no sleeping), until the pool reaches a state; fails after 30 s.
    func eventually(_ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while await !condition() {
            try #require(ContinuousClock.now < deadline, "the pool never reached the expected state")
            await Task.yield()
        }
    }

    @Test func servesConcurrentRequestsWithinMaxScale() async throws {
        let p = try pool("echo", maxScale: 3)
        let outcomes = try await withThrowingTaskGroup(of: (Int, InvocationOutcome).self) { group in
            for i in 0..<64 {
                group.addTask {
                    let body = Array("{\"i\": \(i)}".utf8)
                    return (i, try await p.invoke(body, contentType: "application/json"))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.count == 64)
        for (i, outcome) in outcomes {
            let json = try JSONSerialization.jsonObject(with: Data(outcome.response.body)) as? [String: Any]
            #expect((json?["echo"] as? [String: Any])?["i"] as? Int == i)
        }
        let cold = outcomes.filter { $0.1.coldStart }.count
        #expect((1...3).contains(cold), "one cold start per instance started, got \(cold)")
        #expect(Set(outcomes.map { $0.1.instance }).count <= 3)
        #expect(await p.instanceCount <= 3)
        let pids = await p.pids
        await p.shutdown()
        #expect(pids.allSatisfy { !alive($0) }, "shutdown leaves no worker processes")
    }

    @Test func aFullQueueRefusesInsteadOfWaitingForever() async throws {
        let p = try pool("slow", maxScale: 1, queueLimit: 1)
        let slow = Array(#"{"seconds": 1.5}"#.utf8)
        async let first = p.invoke(slow, contentType: "application/json")
        try await eventually { await p.instanceCount == 1 }  // the first request claimed the only instance
        async let second = p.invoke(slow, contentType: "application/json")
        try await eventually { await p.concurrency == 2 }  // in flight or starting, plus one waiting
        await #expect(throws: PoolError.queueFull(limit: 1)) {
            _ = try await p.invoke(slow, contentType: "application/json")
        }
        let (a, b) = try await (first, second)
        #expect(a.coldStart && !b.coldStart)
        #expect(b.queueMilliseconds > 500, "the second request waited for the first")
        await p.shutdown()
    }

    @Test func aCrashedInstanceIsReplacedAndTheNextRequestSucceeds() async throws {
        let p = try pool("flaky", maxScale: 1)
        let first = try await p.invoke(Array("{}".utf8), contentType: "application/json")
        await #expect(throws: WorkerError.self) {
            _ = try await p.invoke(Array(#"{"exit": true}"#.utf8), contentType: "application/json")
        }
        #expect(await p.instanceCount == 0)
        let next = try await p.invoke(Array("{}".utf8), contentType: "application/json")
        #expect(next.coldStart && next.instance != first.instance)
        await p.shutdown()
    }

    @Test func preWarmsAndScalesToZero() async throws {
        let p = try pool("echo", maxScale: 4)
        try await p.scale(to: 2)
        #expect(await p.instanceCount == 2)
        let warm = try await p.invoke(Array("{}".utf8), contentType: "application/json")
        #expect(!warm.coldStart, "a pre-warmed instance serves without a cold start")
        let pids = await p.pids
        try await p.scale(to: 0)
        #expect(await p.instanceCount == 0)
        #expect(pids.allSatisfy { !alive($0) })
        await p.shutdown()
    }

    /// A later instance that is ready before an earlier one is still seen as started (a race
    /// that once left `scale(to:)` waiting for ever).
    /// A scale-down retires a busy instance (`PoolStateMachine.toStop`): its request is answered,
    /// it takes no other, and its process ends once that request has.
    @Test func aScaleDownRetiresABusyInstanceWhichFinishesItsRequestThenStops() async throws {
        let p = try pool("slow", maxScale: 2)
        try await p.scale(to: 1)
        let pids = await p.pids
        let busy = Task { try await p.invoke(Array(#"{"seconds": 1.0}"#.utf8), contentType: "application/json") }
        while await p.concurrency < 1 { try await Task.sleep(for: .milliseconds(10)) }
        try await p.scale(to: 0)
        #expect(await p.instanceCount == 0, "retired: no longer counted")
        #expect(pids.allSatisfy(alive), "still running its request")
        let answer = try await busy.value
        #expect(String(decoding: answer.response.body, as: UTF8.self) == "woke up")
        let deadline = ContinuousClock.now + .seconds(5)
        while pids.contains(where: alive) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!pids.contains(where: alive), "stopped once its request ended")
        let next = try await p.invoke(Array(#"{"seconds": 0}"#.utf8), contentType: "application/json")
        #expect(next.coldStart, "the next request starts a new instance")
        await p.shutdown()
    }

    @Test func scalingUpReturnsWhenInstancesBecomeReadyOutOfOrder() async throws {
        let python = try #require(WorkerProcessTests.python)
        let dir = try #require(Bundle.module.path(forResource: "delayed_init", ofType: nil, inDirectory: "Fixtures"))
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-pool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        var settings = PoolSettings()
        settings.maxScale = 3
        let p = InstancePool(backend: .cpu(cores: 1), settings: settings) { id, backend in
            WorkerConfiguration(
                python: python, functionDirectory: dir, functionName: "delayed_init", backend: backend, logPath: "\(logs)/instance-\(id).log",
                environment: ["GAIA_TEST_INIT_DELAY": id == 1 ? "0.6" : "0"])
        }
        let returned = StopFlag()
        let scaling = Task {
            try await p.scale(to: 3)
            returned.set()
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while !returned.isSet && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(returned.isSet, "scale(to:) returns once every instance it started is ready")
        if returned.isSet { try await scaling.value }
        #expect(await p.instanceCount == 3)
        #expect(await p.pids.count == 3, "all three are running")
        await p.shutdown()
    }

    @Test func requestsQueuedBehindAFailingColdStartFailToo() async throws {
        let p = try pool("slow_broken_init", maxScale: 1)
        let first = Task { try await p.invoke(Array("{}".utf8), contentType: "application/json") }
        try await eventually { await p.instanceCount == 1 }
        let second = Task { try await p.invoke(Array("{}".utf8), contentType: "application/json") }
        try await eventually { await p.concurrency == 2 }
        for result in [await first.result, await second.result] {
            guard case .failure(WorkerError.initFailed(let message, _)) = result else {
                Issue.record("expected the init failure, got \(result)")
                continue
            }
            #expect(message.contains("the model file is missing"))
        }
        await p.shutdown()
    }

    @Test func oneInstanceServesUpToItsConcurrencyWithoutQueueing() async throws {
        let p = try pool("slow", maxScale: 1, concurrency: 2)
        try await p.scale(to: 1)
        let body = Array(#"{"seconds": 1.0}"#.utf8)
        async let a = p.invoke(body, contentType: "application/json")
        async let b = p.invoke(body, contentType: "application/json")
        let (ra, rb) = try await (a, b)
        #expect(ra.instance == rb.instance, "both requests share the one instance")
        #expect(ra.queueMilliseconds < 500 && rb.queueMilliseconds < 500, "neither waited for the other")
        await p.shutdown()
    }

    /// Whether the interpreter has numpy (the vertical-scaling test needs a real BLAS).
    static let hasNumpy = WorkerProcessTests.python.map { PythonInterpreter.canImport(["numpy"], python: $0) } ?? false

    @Test func resizingMovesARunningInstanceToMoreCoresWithoutRestartingIt() async throws {
        guard Self.hasNumpy else {
            try Test.cancel("vertical scaling test: numpy is not installed for the worker's python")
        }
        let machine = Machine.discover()
        let p = try pool("blas", maxScale: 1)
        let body = Array("{}".utf8)
        func info(_ outcome: InvocationOutcome) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(outcome.response.body)) as? [String: Any])
        }
        let before = try info(try await p.invoke(body, contentType: "application/json"))
        #expect(before["cpus"] as? [Int] == [machine.cpus[0]])
        #expect(before["blas_threads"] as? Int == 1)
        #expect(before["backend"] as? String == "cpu-1")
        let cores = min(2, machine.cpus.count)
        try await p.resize(to: .cpu(cores: cores))
        #expect(await p.backend == .cpu(cores: cores))
        let after = try info(try await p.invoke(body, contentType: "application/json"))
        #expect(after["pid"] as? Int == before["pid"] as? Int, "the same process serves: no restart")
        #expect(after["cpus"] as? [Int] == Array(machine.cpus.prefix(cores)))
        #expect(after["blas_threads"] as? Int == cores)
        #expect(after["backend"] as? String == "cpu-\(cores)")
        await p.shutdown()
    }

    @Test func drainingWaitsForRequestsInFlightThenStopsTheInstances() async throws {
        let p = try pool("slow", maxScale: 1)
        try await p.scale(to: 1)
        let pids = await p.pids
        async let slow = p.invoke(Array(#"{"seconds": 0.5}"#.utf8), contentType: "application/json")
        try await eventually { await p.concurrency == 1 }
        await p.drain()
        #expect(try await slow.response.body.isEmpty == false, "the request in flight finished")
        #expect(await p.instanceCount == 0)
        for pid in pids { #expect(!alive(pid)) }
    }
}
