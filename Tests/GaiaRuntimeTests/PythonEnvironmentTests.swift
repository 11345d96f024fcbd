import Foundation
import GaiaAnalyzer
import GaiaCore
import GaiaStore
import Synchronization
import Testing

@testable import GaiaRuntime

/// Functions that bring a `requirements.txt`: installed into a virtual environment over the
/// server's interpreter, reused by the next function with the same requirements, refused with
/// pip's own message, bounded in time, and removed once no function uses them.
@Suite(.serialized)
struct PythonEnvironmentTests {
    /// A small pure-Python package that is not installed for the tests' interpreter.
    static let package = "inflection==0.5.1"

    static let handler = """
        import sys, numpy, inflection

        def handle(payload, context):
            return {"camel": inflection.camelize("device_type"), "inflection": inflection.__file__,
                    "numpy": numpy.__file__, "prefix": sys.prefix}
        """

    /// Lines a deploy reported.
    final class Progress: Sendable {
        private let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        var report: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
    }

    static func run(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        guard (try? process.run()) != nil else { return (-1, "cannot run \(arguments)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Why the live install cannot run here (no pip, no index, or the package is installed), or nil.
    static func cannotInstall(python: String) -> String? {
        if run([python, "-c", "import inflection"]).status == 0 { return "inflection is already installed for \(python)" }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-pip-probe-\(UUID().uuidString)").path
        let probe = run([python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d", scratch, package])
        try? FileManager.default.removeItem(atPath: scratch)
        return probe.status == 0 ? nil : "pip cannot download \(package) here (no package index reachable?): \(probe.output.suffix(300))"
    }

    @Test func aFunctionGetsItsRequirementsAndTheNextWithTheSameOnesReusesThem() async throws {
        let python = try #require(WorkerProcessTests.python)
        if let reason = Self.cannotInstall(python: python) {
            try Test.cancel("\(reason)")
        }
        let runtime = try testRuntime("env")
        let first = Progress()
        var request = DeployRequest(name: "first", files: ["handler.py": Array(Self.handler.utf8), "requirements.txt": Array("\(Self.package)  # camel case\n".utf8)])
        request.progress = first.report
        var started = ContinuousClock.now
        let manifest = try await runtime.deploy(request)
        let built = ContinuousClock.now - started
        let key = try #require(manifest.pythonEnvironment)
        #expect(first.all.contains { $0.contains("Successfully installed inflection-0.5.1") }, "pip's output is reported: \(first.all)")
        let answer = String(decoding: try await runtime.invoke("first", body: Array("{}".utf8), contentType: "application/json").outcome.response.body, as: UTF8.self)
        let environment = runtime.configuration.dataDirectory + "/envs/" + key
        #expect(answer.contains(#""camel": "DeviceType""#) && answer.contains(#""inflection": "\#(environment)/lib/"#), "\(answer)")
        // numpy, which the server's interpreter has, is shared, not installed again.
        #expect(!answer.contains(#""numpy": "\#(environment)"#) && answer.contains(#""prefix": "\#(environment)""#), "\(answer)")
        #expect(Self.run([python, "-c", "import inflection"]).status != 0, "the server's own interpreter is untouched")

        // The same requirements written differently: no pip run, the same environment.
        let second = Progress()
        request = DeployRequest(name: "second", files: ["handler.py": Array(Self.handler.utf8), "requirements.txt": Array("# the same\nInflection == 0.5.1\n".utf8)])
        request.progress = second.report
        started = ContinuousClock.now
        let reused = try await runtime.deploy(request)
        let again = ContinuousClock.now - started
        print("environment built and first instance started in \(built); reused and started in \(again)")
        #expect(reused.pythonEnvironment == key)
        #expect(second.all.contains { $0.contains("reusing environment \(key)") } && !second.all.contains { $0.contains("Collecting") }, "\(second.all)")
        #expect(again < built)
        _ = try await runtime.invoke("second", body: Array("{}".utf8), contentType: "application/json")

        // Removed once no function uses it.
        try await runtime.remove("first")
        #expect(FileManager.default.fileExists(atPath: environment), "second still uses it")
        try await runtime.remove("second")
        let deadline = ContinuousClock.now + .seconds(10)
        while FileManager.default.fileExists(atPath: environment) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!FileManager.default.fileExists(atPath: environment), "an environment no function uses is removed")
        await runtime.shutdown()
    }

    @Test func aBadRequirementIsRefusedWithPipsMessageAndLeavesNothing() async throws {
        let runtime = try testRuntime("env-bad")
        let request = DeployRequest(name: "bad", files: ["handler.py": Array("def handle(p, c):\n    return 1\n".utf8), "requirements.txt": Array("gaia-no-such-package-7f3a==1.0\n".utf8)])
        let error = await #expect(throws: PlatformError.self) { try await runtime.deploy(request) }
        #expect(error?.code == "requirements_failed" && error?.statusCode == 400)
        #expect(error?.message.contains("pip could not install the requirements") == true && error?.message.contains("ERROR:") == true && error?.message.contains("gaia-no-such-package-7f3a") == true, "\(String(describing: error))")
        let envs = (try? FileManager.default.contentsOfDirectory(atPath: runtime.configuration.dataDirectory + "/envs")) ?? []
        #expect(envs.isEmpty, "\(envs)")
        #expect(await runtime.functions().isEmpty)
        await runtime.shutdown()
    }

    @Test(arguments: [
        ("-r other.txt\n", "names another file"), ("-e .\n", "editable"), ("./local-package\n", "local path"),
        ("pkg @ file:///etc\n", "local path"), ("--global-option=x\n", "does not pass to pip"),
    ])
    func linesThatReachOutsideTheUploadAreRefusedBeforePipRuns(requirements: String, message: String) async throws {
        let runtime = try testRuntime("env-refused")
        let request = DeployRequest(name: "refused", files: ["handler.py": Array("def handle(p, c):\n    return 1\n".utf8), "requirements.txt": Array(requirements.utf8)])
        let error = await #expect(throws: PlatformError.self) { try await runtime.deploy(request) }
        #expect(error?.code == "invalid_requirements" && error?.message.contains(message) == true && error?.message.contains("requirements.txt:1") == true, "\(String(describing: error))")
        await runtime.shutdown()
    }

    @Test func anInstallThatHangsIsStoppedAtItsLimit() async throws {
        // An index that accepts connections and never answers: pip waits on it.
        let python = try #require(WorkerProcessTests.python)
        let index = Process()
        index.executableURL = URL(fileURLWithPath: python)
        index.arguments = ["-c", "import socket, sys, time\ns = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(64)\nprint(s.getsockname()[1], flush=True)\ntime.sleep(120)"]
        let out = Pipe()
        index.standardOutput = out
        try index.run()
        defer { index.terminate() }
        let port = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let runtime = try testRuntime("env-hang") { $0.installTimeout = .seconds(2) }
        let requirements = "--index-url http://127.0.0.1:\(port)/simple\ngaia-hang-probe==1.0\n"
        let request = DeployRequest(name: "hang", files: ["handler.py": Array("def handle(p, c):\n    return 1\n".utf8), "requirements.txt": Array(requirements.utf8)])
        let started = ContinuousClock.now
        let error = await #expect(throws: PlatformError.self) { try await runtime.deploy(request) }
        let took = ContinuousClock.now - started
        #expect(error?.message.contains("took over 2 s") == true, "\(String(describing: error))")
        #expect(took < .seconds(6), "refused \(took) after the start")
        await runtime.shutdown()
    }

    /// After a restart, a function whose environment is gone (removed by hand) gets it back.
    @Test func aMissingEnvironmentIsBuiltAgainAtRestart() async throws {
        let python = try #require(WorkerProcessTests.python)
        guard PythonInterpreter.canImport(["numpy"], python: python) else {
            try Test.cancel("numpy is not installed for python3")
        }
        let database = try GaiaDatabase.inMemory()
        let runtime = try testRuntime("env-restart", database: database)
        let handler = "import numpy\ndef handle(p, c):\n    return {'ok': True}\n"
        // numpy is already there: pip only says so (no package index needed).
        let manifest = try await runtime.deploy(DeployRequest(name: "np", files: ["handler.py": Array(handler.utf8), "requirements.txt": Array("numpy\n".utf8)]))
        let key = try #require(manifest.pythonEnvironment)
        await runtime.shutdown()
        let environment = runtime.configuration.dataDirectory + "/envs/" + key
        try FileManager.default.removeItem(atPath: environment)
        let restarted = FunctionRuntime(configuration: runtime.configuration, database: database)
        try await restarted.restore()
        #expect(restarted.environments.isReady(key), "built again under the same key")
        let answer = try await restarted.invoke("np", body: Array("{}".utf8), contentType: "application/json")
        #expect(String(decoding: answer.outcome.response.body, as: UTF8.self).contains("true"))
        await restarted.shutdown()
    }

    @Test func requirementsAreNormalisedSoTheSameOnesShareAKey() throws {
        let a = try Requirements(Array("# models\nNumPy >= 1.26\nscikit_learn==1.5 ; python_version >= \"3.9\"\n\n".utf8))
        let b = try Requirements(Array("scikit-learn == 1.5;  python_version >= \"3.9\"   # pinned\nnumpy>=1.26\nnumpy>=1.26\n".utf8))
        #expect(a.normalised == b.normalised)
        #expect(a.normalised == "numpy>=1.26\nscikit-learn==1.5; python_version >= \"3.9\"\n")
        #expect(PythonEnvironments.key(a, identity: "3.11.7 linux-x86_64 /usr") == PythonEnvironments.key(b, identity: "3.11.7 linux-x86_64 /usr"))
        #expect(PythonEnvironments.key(a, identity: "3.12.1 linux-x86_64 /usr") != PythonEnvironments.key(a, identity: "3.11.7 linux-x86_64 /usr"))
        let continued = try Requirements(Array("torch \\\n  ==2.3.0\n--extra-index-url https://download.pytorch.org/whl/cpu\n".utf8))
        #expect(continued.lines.map(\.text) == ["torch==2.3.0", "--extra-index-url https://download.pytorch.org/whl/cpu"])
        #expect(continued.lines.map(\.number) == [1, 3])
        #expect(try Requirements(Array("# nothing\n\n".utf8)).isEmpty)
    }
}

/// An instance gets what Python needs of the server's environment and its own variables, never
/// the server's other variables (its tokens and keys), whether forked or started fresh.
struct InheritedEnvironmentTests {
    @Test(arguments: [true, false])
    func theServersOwnVariablesDoNotReachAnInstance(forkServer: Bool) async throws {
        setenv("SERVER_ONLY_PROBE_7F3A", "server-secret", 1)
        defer { unsetenv("SERVER_ONLY_PROBE_7F3A") }
        let runtime = try testRuntime("inherit") { $0.forkServer = forkServer }
        let handler = "import os\ndef handle(payload, context):\n    return sorted(os.environ)\n"
        try await runtime.deploy(DeployRequest(name: "env", files: ["handler.py": Array(handler.utf8)], environment: ["MINE": "1"]))
        let answer = String(decoding: try await runtime.invoke("env", body: Array("{}".utf8), contentType: "application/json").outcome.response.body, as: UTF8.self)
        #expect(!answer.contains("SERVER_ONLY_PROBE_7F3A"), "\(answer)")
        #expect(answer.contains(#""MINE""#) && answer.contains(#""PATH""#) && answer.contains(#""GAIA_FUNCTION_NAME""#), "\(answer)")
        #expect(InheritedEnvironment.of(["AWS_SECRET_ACCESS_KEY": "x", "GAIA_TOKEN": "t", "LC_ALL": "C", "PIP_INDEX_URL": "u"]) == ["LC_ALL": "C"])
        #expect(InheritedEnvironment.of(["PIP_INDEX_URL": "u", "GAIA_TOKEN": "t"], pip: true) == ["PIP_INDEX_URL": "u"])
        await runtime.shutdown()
    }
}

/// Instances' logs stay bounded: one over the cap is rotated while its instance keeps writing to
/// it, and logs of instances long gone are removed past the newest ones.
struct LogRotationTests {
    @Test(arguments: [true, false])
    func aLogOverTheCapIsRotatedAndTheInstanceKeepsWriting(forkServer: Bool) async throws {
        let runtime = try testRuntime("logs") { $0.forkServer = forkServer }
        let handler = "def handle(payload, context):\n    print(payload['text'] * payload['times'], flush=True)\n    return 1\n"
        try await runtime.deploy(DeployRequest(name: "chatty", files: ["handler.py": Array(handler.utf8)]))
        _ = try await runtime.invoke("chatty", body: Array(#"{"text": "x", "times": 2000000}"#.utf8), contentType: "application/json")
        let logs = runtime.configuration.dataDirectory + "/logs"
        let (rotated, _) = LogRotation(maxBytes: 1 << 20).sweep(logs)
        let log = try #require(rotated.first, "the 2 MB log is rotated")
        #expect(rotated.count == 1)
        _ = try await runtime.invoke("chatty", body: Array(#"{"text": "after rotation ", "times": 1}"#.utf8), contentType: "application/json")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: log)[.size] as? NSNumber).intValue
        #expect(size < 1000, "the instance writes at the emptied file's new end, not past a hole: \(size) bytes")
        #expect(try await runtime.logs("chatty").contains("after rotation"))
        #expect(FileManager.default.fileExists(atPath: log + ".1"))
        await runtime.shutdown()
    }

    /// A log far over the cap (a call that printed 20 MB between two sweeps) leaves a rotated copy
    /// of the cap, its newest bytes: the copy held the whole 20 MB before.
    @Test func theRotatedCopyIsCappedToo() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-logs-\(UUID().uuidString)/f").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = "\(folder)/r1-x-i1.log"
        var text = Data(repeating: UInt8(ascii: "o"), count: 20 << 20)
        text.append(contentsOf: Array("the last line\n".utf8))
        _ = FileManager.default.createFile(atPath: path, contents: text)
        let (rotated, _) = LogRotation(maxBytes: 1 << 20).sweep((folder as NSString).deletingLastPathComponent)
        #expect(rotated == [path])
        let copy = try Data(contentsOf: URL(fileURLWithPath: path + ".1"))
        #expect(copy.count == 1 << 20, "the rotated copy holds \(copy.count) bytes; the cap is \(1 << 20)")
        #expect(copy.suffix(14) == Data("the last line\n".utf8), "it keeps the newest bytes")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber == 0)
    }

    @Test func logsOfInstancesLongGoneArePrunedPastTheNewest() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-logs-\(UUID().uuidString)/f").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let now = Date()
        for i in 0..<8 {
            let path = "\(folder)/r1-x-i\(i).log"
            _ = FileManager.default.createFile(atPath: path, contents: Data("line\n".utf8))
            // i0…i5 written two hours ago and more; i6 and i7 now.
            let age: TimeInterval = i < 6 ? 7200 + Double(i) : 0
            try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-age)], ofItemAtPath: path)
        }
        let (_, removed) = LogRotation(maxBytes: 1 << 20, keepFiles: 3).sweep((folder as NSString).deletingLastPathComponent, now: now)
        let left = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(left == ["r1-x-i0.log", "r1-x-i6.log", "r1-x-i7.log"], "the newest 3 stay: \(left)")
        #expect(removed.count == 5)
    }
}
