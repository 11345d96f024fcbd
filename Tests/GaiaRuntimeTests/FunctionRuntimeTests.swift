import Foundation
import GaiaCore
import GaiaStore
import Testing

@testable import GaiaRuntime

/// The embedded platform end to end below HTTP: deploy, invoke, redeploy, faults, autoscaling.
struct FunctionRuntimeTests {
    func runtime(keepAlive: Duration = .seconds(60), database: GaiaDatabase? = nil) throws -> FunctionRuntime {
        try testRuntime("rt", database: database) {
            $0.keepAlive.useDefaultKeepAlive(keepAlive)
            $0.maxUploadBytes = 4096
        }
    }

    func files(_ source: String) -> [String: [UInt8]] { ["handler.py": Array(source.utf8)] }

    func fixture(_ name: String) throws -> [String: [UInt8]] {
        let dir = try #require(Bundle.module.path(forResource: name, ofType: nil, inDirectory: "Fixtures"))
        return ["handler.py": Array(try #require(FileManager.default.contents(atPath: dir + "/handler.py")))]
    }

    @Test func logsAreReadFromTheirEndNotWhole() async throws {
        let rt = try runtime()
        // 8 MiB of prints at init, then a last line.
        let chatty = "import sys\ndef init(c):\n    for _ in range(8192):\n        print('x' * 1023)\n    print('the last line', flush=True)\ndef handle(p, c):\n    return p\n"
        try await rt.deploy(DeployRequest(name: "chatty", files: files(chatty)))
        let logs = try await rt.logs("chatty", maxBytes: 4096)
        #expect(logs.utf8.count <= 4096 && logs.contains("the last line"), "\(logs.suffix(200))")
        await rt.shutdown()
    }

    @Test func aSettingsChangeRedeploysTheUploadedFilesOnlyNotPythonsCaches() async throws {
        let rt = try runtime()
        let uploaded: [String: [UInt8]] = [
            "handler.py": Array("import sys, os\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), 'lib'))\nimport helper\ndef handle(p, c):\n    return helper.answer()\n".utf8),
            "lib/helper.py": Array("def answer():\n    return 42\n".utf8),
        ]
        try await rt.deploy(DeployRequest(name: "helped", files: uploaded))
        _ = try await rt.invoke("helped", body: Array("{}".utf8), contentType: "application/json")
        // What an instance's Python leaves beside the files (unless PYTHONDONTWRITEBYTECODE is set).
        let stored = try await rt.function("helped")
        try FileManager.default.createDirectory(atPath: stored.sourceDirectory + "/lib/__pycache__", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: stored.sourceDirectory + "/lib/__pycache__/helper.cpython-311.pyc", contents: Data([0xA7, 0x0D])))
        #expect(try await rt.files(of: "helped") == uploaded)
        let manifest = try await rt.update("helped", SettingsChange(slo: .set(SLO(statistic: .p99, thresholdMs: 50)), maxScale: 2))
        #expect(manifest.slo?.statistic == .p99 && manifest.maxScale == 2)
        let revision = try await rt.function("helped").revision
        let files = try await rt.files(of: "helped")
        #expect(revision == 2 && files == uploaded)
        let answer = try await rt.invoke("helped", body: Array("{}".utf8), contentType: "application/json")
        #expect(String(decoding: answer.outcome.response.body, as: UTF8.self) == "42")
        await rt.shutdown()
    }

    @Test func aResponseOverTheLimitFailsItsRequestWithoutBeingReadAndTheNextIsServed() async throws {
        let rt = try testRuntime("cap") { $0.maxResponseBytes = 1 << 20 }
        let big = "def handle(p, c):\n    return 'x' * int(p['n'])\n"
        try await rt.deploy(DeployRequest(name: "big", files: files(big)))
        let small = try await rt.invoke("big", body: Array(#"{"n": 1000}"#.utf8), contentType: "application/json")
        #expect(small.outcome.response.body.count == 1000)
        do {
            _ = try await rt.invoke("big", body: Array(#"{"n": 2000000}"#.utf8), contentType: "application/json")
            Issue.record("a 2 MB response passed a 1 MiB limit")
        } catch {
            #expect(FunctionRuntime.status(of: error) == 502)
            #expect("\(error)".contains("a response of 2000000 bytes, over the limit of 1048576 bytes (max_response_mb)"), "\(error)")
        }
        let after = try await rt.invoke("big", body: Array(#"{"n": 10}"#.utf8), contentType: "application/json")
        #expect(after.outcome.response.body.count == 10, "a new instance serves the next request")
        await rt.shutdown()
    }

    /// A redeploy and a delete while a request runs: the request finishes on the old revision's
    /// instance (200), not cut; later requests go to the new revision, or get 404 once deleted.
    @Test func redeployAndDeleteLetTheRequestsInFlightFinish() async throws {
        let rt = try testRuntime("drain")
        let slow = "import time\ndef handle(payload, context):\n    time.sleep(payload.get('seconds', 0))\n    return 'r1'\n"
        try await rt.deploy(DeployRequest(name: "slow", files: files(slow)))
        let during = Task { try await rt.invoke("slow", body: Array(#"{"seconds": 1.0}"#.utf8), contentType: "application/json") }
        try await Task.sleep(for: .milliseconds(300))
        try await rt.deploy(DeployRequest(name: "slow", files: files(slow.replacingOccurrences(of: "'r1'", with: "'r2'"))))
        let first = try await during.value
        #expect(String(decoding: first.outcome.response.body, as: UTF8.self) == "r1" && first.revision == 1)
        let next = try await rt.invoke("slow", body: Array("{}".utf8), contentType: "application/json")
        #expect(String(decoding: next.outcome.response.body, as: UTF8.self) == "r2")

        let last = Task { try await rt.invoke("slow", body: Array(#"{"seconds": 1.0}"#.utf8), contentType: "application/json") }
        try await Task.sleep(for: .milliseconds(300))
        try await rt.remove("slow")
        #expect(try await last.value.revision == 2, "the request in flight finished")
        await #expect(throws: PlatformError.self) { try await rt.invoke("slow", body: Array("{}".utf8), contentType: "application/json") }
        await rt.shutdown()
    }

    @Test func deployInvokeRedeployAndRemove() async throws {
        let rt = try runtime()
        let manifest = try await rt.deploy(DeployRequest(name: "echo", files: fixture("echo")))
        #expect(manifest.mode == .cpu)
        let first = try await rt.invoke("echo", body: Array(#"{"a": 1}"#.utf8), contentType: "application/json")
        #expect(first.revision == 1 && !first.outcome.coldStart, "deploy leaves one warm instance")
        try await rt.deploy(DeployRequest(name: "echo", files: files("def handle(p, c):\n    return 'v2'\n")))
        let second = try await rt.invoke("echo", body: Array("{}".utf8), contentType: "application/json")
        #expect(second.revision == 2 && String(decoding: second.outcome.response.body, as: UTF8.self) == "v2")
        await rt.flushRecords()
        let records = try rt.database.invocations(of: "echo")
        #expect(records.count == 2 && records.allSatisfy { $0.costUSD > 0 && $0.backend == "cpu-1" })
        try await rt.remove("echo")
        await #expect(throws: PlatformError.self) {
            _ = try await rt.invoke("echo", body: [], contentType: "application/json")
        }
        await rt.shutdown()
    }

    @Test(arguments: [
        ("bad name", "Bad_Name", "def handle(p, c):\n    return p\n", "invalid_name"),
        ("syntax error", "broken", "def handle(p, c)\n    return p\n", "syntax_error"),
        ("no handler", "nohandler", "def other(p, c):\n    return p\n", "invalid_function"),
        ("import fails in init", "badimport", "import gaia_no_such_module\ndef handle(p, c):\n    return p\n", "init_failed"),
        ("too large", "huge", "def handle(p, c):\n    return p\n#" + String(repeating: "x", count: 5000) + "\n", "too_large"),
    ])
    func badDeploysAreRefusedClearly(_ label: String, _ name: String, _ source: String, _ code: String) async throws {
        let rt = try runtime()
        do {
            try await rt.deploy(DeployRequest(name: name, files: files(source)))
            Issue.record("\(label): the deploy should have been refused")
        } catch let error as PlatformError {
            #expect(error.code == code, "\(label): \(error.message)")
            #expect(!error.message.isEmpty)
        }
        #expect(await rt.functions().isEmpty, "nothing is left deployed after a refused deploy")
        #expect(try rt.database.functions().isEmpty)
        await rt.shutdown()
    }

    @Test func aFailedRedeployKeepsTheOldRevisionServing() async throws {
        let rt = try runtime()
        try await rt.deploy(DeployRequest(name: "svc", files: files("def handle(p, c):\n    return 'old'\n")))
        await #expect(throws: PlatformError.self) {
            try await rt.deploy(DeployRequest(name: "svc", files: files("import gaia_missing\ndef handle(p, c):\n    return 'new'\n")))
        }
        let answer = try await rt.invoke("svc", body: Array("{}".utf8), contentType: "application/json")
        #expect(String(decoding: answer.outcome.response.body, as: UTF8.self) == "old")
        await rt.shutdown()
    }

    @Test func ticksScaleAnIdleFunctionToZeroAfterKeepAlive() async throws {
        let rt = try runtime(keepAlive: .seconds(30))
        try await rt.deploy(DeployRequest(name: "echo", files: fixture("echo")))
        let t0 = ContinuousClock.now
        _ = try await rt.invoke("echo", body: Array("{}".utf8), contentType: "application/json")
        for second in 0...29 { await rt.tick(at: t0.advanced(by: .seconds(second))) }
        #expect(await rt.instanceCount("echo") == 1, "kept alive for 30 s")
        await rt.tick(at: t0.advanced(by: .seconds(31)))
        await rt.actionsCarriedOut()
        #expect(await rt.instanceCount("echo") == 0, "scaled to zero after keep-alive")
        let decisions = try rt.database.decisions(of: "echo")
        #expect(decisions.last?.to == "0 instances" && decisions.last?.reason.contains("scale to zero") == true)
        let cold = try await rt.invoke("echo", body: Array("{}".utf8), contentType: "application/json")
        #expect(cold.outcome.coldStart, "the next request starts an instance again")
        await rt.shutdown()
    }

    /// One function's slow start holds back no other's control (issue 32): while an instance whose
    /// `init` takes 4 s starts, every tick returns at once and another function is scaled to zero
    /// on time (a tick once waited for the start: 14 s late with a 12 s start).
    @Test func aSlowStartHoldsBackNoOtherFunctionsControl() async throws {
        let rt = try runtime(keepAlive: .seconds(1))
        try await rt.deploy(DeployRequest(name: "quick", files: fixture("echo")))
        let slow = "import time\n\ndef init(context):\n    time.sleep(4)\n\ndef handle(payload, context):\n    return payload\n"
        try await rt.deploy(DeployRequest(name: "slow", files: files(slow), minScale: 2))  // its deploy starts one
        _ = try await rt.invoke("quick", body: Array("{}".utf8), contentType: "application/json")
        let t0 = ContinuousClock.now
        var longest = Duration.zero
        var quickAtZero: Duration?
        while ContinuousClock.now - t0 < .milliseconds(2500) {
            let began = ContinuousClock.now
            await rt.tick()
            longest = max(longest, ContinuousClock.now - began)
            if quickAtZero == nil, await rt.instanceCount("quick") == 0 { quickAtZero = ContinuousClock.now - t0 }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(longest < .milliseconds(500), "the longest tick took \(longest) while the slow function's instance started")
        #expect(quickAtZero.map { $0 < .milliseconds(2500) } == true, "the quick function scaled to zero after \(String(describing: quickAtZero))")
        #expect(await rt.instanceCount("slow") == 2, "the second instance is counted while it starts")
        #expect(try rt.database.decisions(of: "slow").contains { $0.to == "2 instances" } == false, "recorded before its start ended")
        await rt.actionsCarriedOut()
        let decision = try rt.database.decisions(of: "slow").last
        #expect(decision?.kind == "scale" && decision?.to == "2 instances", "recorded once started: \(String(describing: decision))")
        await rt.shutdown()
    }

    /// `--mode gpu` asked for on a machine with no GPU is refused as a detected `gpu` is (issue 34:
    /// it was accepted and showed `gpu` on `cpu-1`), at deploy and at update.
    @Test func aRequestedGPUModeIsRefusedWhereThereIsNoGPU() async throws {
        let rt = try testRuntime("nogpu") { $0.machine = Machine(cpus: [0, 1], gpus: []) }
        let echo = files("def handle(p, c):\n    return p\n")
        await #expect {
            try await rt.deploy(DeployRequest(name: "forced", files: echo, mode: .gpu))
        } throws: { ($0 as? PlatformError).map { $0.code == "no_gpu" && $0.statusCode == 422 && $0.message.contains("--mode gpu") } ?? false }
        try await rt.deploy(DeployRequest(name: "plain", files: echo, mode: .gpuPreferred))
        await #expect {
            _ = try await rt.update("plain", SettingsChange(mode: .force(.gpu)))
        } throws: { ($0 as? PlatformError)?.code == "no_gpu" }
        #expect(try await rt.function("plain").manifest.mode == .gpuPreferred, "the refused update left it as it was")
        await rt.shutdown()
    }

    /// `curl -d '{"x": 1}'` sends curl's default form type: a body that parses as JSON reaches the
    /// handler as JSON (issue 34: a dict handler got bytes and failed with AttributeError); one
    /// that does not stays bytes, and a declared binary type is never parsed.
    @Test func aJSONBodySentAsCurlsDefaultFormTypeIsJSON() async throws {
        let rt = try runtime()
        try await rt.deploy(DeployRequest(name: "kind", files: files("def handle(p, c):\n    return type(p).__name__ + ':' + (str(p.get('x')) if isinstance(p, dict) else repr(p))\n")))
        func answer(_ body: String, _ type: String) async throws -> String {
            String(decoding: try await rt.invoke("kind", body: Array(body.utf8), contentType: type).outcome.response.body, as: UTF8.self)
        }
        #expect(try await answer(#"{"x": 1}"#, "application/x-www-form-urlencoded") == "dict:1")
        #expect(try await answer(#"{"x": 2}"#, "application/json; charset=utf-8") == "dict:2")
        #expect(try await answer("x=1&y=2", "application/x-www-form-urlencoded") == "bytes:b'x=1&y=2'")
        #expect(try await answer(#"{"x": 3}"#, "application/octet-stream") == #"bytes:b'{"x": 3}'"#)
        await rt.shutdown()
    }

    /// A handler's exception is seen in `gaia logs` too, not only by its caller (issue 34): the
    /// function's log gets the invocation's id, status and error's first line.
    @Test func aFailedInvocationIsInTheFunctionsLog() async throws {
        let rt = try runtime()
        try await rt.deploy(DeployRequest(name: "boom", files: files("def handle(p, c):\n    raise ValueError('no good')\n")))
        let id = FunctionRuntime.newInvocationID()
        await #expect(throws: WorkerError.self) {
            _ = try await rt.invoke("boom", body: Array("{}".utf8), contentType: "application/json", id: id)
        }
        let deadline = ContinuousClock.now + .seconds(5)
        var logs = ""
        while ContinuousClock.now < deadline {
            logs = try await rt.logs("boom")
            if logs.contains(id) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(logs.contains("\(id) failed with 500: the handler raised ValueError: no good"), "\(logs)")
        await rt.shutdown()
    }

    /// A function's own invocation timeout (issue 34: only the server-wide 60 s existed): its
    /// invocation past it answers 504 then, another function keeps the server's; an update changes
    /// it; nonsense is refused.
    @Test func aFunctionsOwnTimeoutEndsItsInvocationThen() async throws {
        let rt = try runtime()
        let sleeper = files("import time\n\ndef handle(p, c):\n    time.sleep(p['s'])\n    return 'woke'\n")
        try await rt.deploy(DeployRequest(name: "short", files: sleeper, timeoutSeconds: 0.5))
        try await rt.deploy(DeployRequest(name: "long", files: sleeper))
        let asked = ContinuousClock.now
        await #expect {
            _ = try await rt.invoke("short", body: Array(#"{"s": 3}"#.utf8), contentType: "application/json")
        } throws: { error in
            if case WorkerError.timedOut(let after) = error { after == .milliseconds(500) } else { false }
        }
        #expect(ContinuousClock.now - asked < .seconds(2), "ended at its 0.5 s, not at 3 s")
        let slept = try await rt.invoke("long", body: Array(#"{"s": 1}"#.utf8), contentType: "application/json")
        #expect(String(decoding: slept.outcome.response.body, as: UTF8.self) == "woke", "the server's 60 s for the other")
        let manifest = try await rt.update("short", SettingsChange(timeoutSeconds: 5))
        #expect(manifest.timeoutSeconds == 5)
        let now = try await rt.invoke("short", body: Array(#"{"s": 1}"#.utf8), contentType: "application/json")
        #expect(String(decoding: now.outcome.response.body, as: UTF8.self) == "woke")
        await #expect { try await rt.deploy(DeployRequest(name: "bad", files: sleeper, timeoutSeconds: 0)) } throws: {
            ($0 as? PlatformError).map { $0.code == "invalid_timeout" && $0.statusCode == 400 } ?? false
        }
        await rt.shutdown()
    }

    /// An invocation running now is listed with its id until it ends (issue 34: `gaia invocations
    /// N` showed only recorded ones).
    @Test func invocationsInFlightAreListedUntilTheyEnd() async throws {
        let rt = try runtime()
        try await rt.deploy(DeployRequest(name: "slow", files: fixture("slow")))
        let id = FunctionRuntime.newInvocationID()
        let call = Task { try await rt.invoke("slow", body: Array(#"{"seconds": 1.0}"#.utf8), contentType: "application/json", id: id) }
        let deadline = ContinuousClock.now + .seconds(5)
        var listed: [String] = []
        while listed.isEmpty && ContinuousClock.now < deadline {
            listed = await rt.invocationsInFlight(of: "slow").map(\.id)
            if listed.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(listed == [id])
        #expect(await rt.invocationsInFlight(of: "other").isEmpty)
        _ = try await call.value
        #expect(await rt.invocationsInFlight(of: "slow").isEmpty, "gone once answered (its record has it)")
        await rt.shutdown()
    }

    @Test func invokingAnUnknownFunctionIs404() async throws {
        let rt = try runtime()
        do {
            _ = try await rt.invoke("nope", body: [], contentType: "application/json")
            Issue.record("expected not found")
        } catch let error as PlatformError {
            #expect(error.statusCode == 404 && error.message.contains("no function named 'nope'"))
        }
    }

    @Test func aRestartKeepsEachFunctionsLimitsAndHonoursThem() async throws {
        let database = try GaiaDatabase.inMemory()
        let first = try runtime(database: database)
        let slow = try fixture("slow")
        try await first.deploy(DeployRequest(name: "slow", files: slow, minScale: 0, maxScale: 1, concurrency: 2))
        await first.shutdown()

        let second = try runtime(database: database)
        try await second.restore()
        // A restart starts nothing for a function whose minimum scale is 0, until a request comes.
        let t0 = ContinuousClock.now
        for step in 1...3 { await second.tick(at: t0.advanced(by: .seconds(step))) }
        #expect(await second.instanceCount("slow") == 0, "a restart started an instance nobody asked for")
        let stored = try await second.function("slow")
        #expect(stored.manifest.maxScale == 1 && stored.manifest.concurrency == 2 && stored.manifest.minScale == 0)
        let body = Array(#"{"seconds": 1.0}"#.utf8)
        async let a = second.invoke("slow", body: body, contentType: "application/json")
        async let b = second.invoke("slow", body: body, contentType: "application/json")
        let (ra, rb) = try await (a, b)
        #expect(ra.outcome.instance == rb.outcome.instance, "max scale 1 with concurrency 2: one instance runs both")
        await second.shutdown()
    }

    @Test func nonsenseLimitsAreRefused() async throws {
        let rt = try runtime()
        await #expect(throws: PlatformError.self) {
            try await rt.deploy(DeployRequest(name: "x", files: files("def handle(p, c):\n    return p\n"), concurrency: 0))
        }
    }

    @Test func aFolderWhoseEntryIsFoundByItsHandlerDeploys() async throws {
        // `gaia analyze` accepts this folder (the file defining handle is the entry); deploy must too.
        let rt = try runtime()
        try await rt.deploy(DeployRequest(name: "svc", files: [
            "service.py": Array("from util import double\ndef handle(p, c):\n    return double(p['x'])\n".utf8),
            "util.py": Array("def double(x):\n    return 2 * x\n".utf8),
        ]))
        let answer = try await rt.invoke("svc", body: Array(#"{"x": 21}"#.utf8), contentType: "application/json")
        #expect(String(decoding: answer.outcome.response.body, as: UTF8.self) == "42")
        await rt.shutdown()
    }
}
