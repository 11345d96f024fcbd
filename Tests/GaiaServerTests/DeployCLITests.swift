import AsyncHTTPClient
import Foundation
import GaiaRuntime
import NIOCore
import NIOHTTP1
import Testing

/// `gaia deploy FOLDER` as a user runs it against a live `gaia serve`: a folder with a binary file
/// and a requirements.txt deploys (as an archive), the install's progress is shown as it happens,
/// and the handler reads its file back byte for byte.
@Suite(.serialized)
struct DeployCLITests {
    static func run(_ gaia: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gaia)
        process.arguments = arguments
        // Files, not pipes: a pipe read to its end first would block the other once it is full.
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-cli-out-\(UUID().uuidString)").path
        let err = out + ".err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer { for file in [out, err] { try? FileManager.default.removeItem(atPath: file) } }
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        process.waitUntilExit()
        let text = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return (process.terminationStatus, text(out), text(err))
    }

    /// `gaia serve` on a free port and `data`, once up: an authenticated route answers, so it
    /// listens and has written its admin token. The caller kills the server.
    static func serve(_ gaia: String, data: String) async throws -> (server: Process, port: Int, token: String) {
        let port = ServeCommandTests.freePort()
        let server = try ServeCommandTests.serve(gaia, port: port, data: data)
        do {
            try await ServeCommandTests().waitUntilServing("/v1/functions", port: port, data: data, within: .seconds(20))
            return (server, port, try #require(ServeCommandTests.token(data)))
        } catch {
            kill(server.processIdentifier, SIGKILL)
            throw error
        }
    }

    /// What a new user's scripts stumbled on (issue 34): `--server host:port` without a scheme,
    /// `gaia invoke --async` printing prose where a script wants the id, `gaia invocations get ID
    /// --wait` exiting 0 for a failed invocation, `gaia invoke` re-encoding the answer (keys
    /// sorted, 4.0 printed as 4), and a refused connection described in the HTTP client's internals.
    @Test func theCLIServesScriptsTheIdAndTheOutcome() async throws {
        guard let gaia = ServeCommandTests.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests (run `swift build` first)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-cli-\(UUID().uuidString)/boom").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "def handle(payload, context):\n    raise ValueError('no good')\n".write(toFile: folder + "/handler.py", atomically: true, encoding: .utf8)
        let (server, port, token) = try await Self.serve(gaia, data: folder + "-data")
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let target = ["--server", "127.0.0.1:\(port)", "--token", token]  // no scheme
        let deploy = try Self.run(gaia, ["deploy", folder] + target)
        try #require(deploy.status == 0, "\(deploy.out)\n\(deploy.err)")
        let queued = try Self.run(gaia, ["invoke", "boom", "--async"] + target)
        let id = queued.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(queued.status == 0 && id.hasPrefix("inv_") && !id.contains(" "), "stdout holds the id alone: \(queued.out)")
        #expect(queued.err.contains("gaia invocations get \(id) --wait"), "the hint goes to stderr: \(queued.err)")
        let waited = try Self.run(gaia, ["invocations", "get", id, "--wait"] + target)
        #expect(waited.status != 0, "a failed invocation fails the command: \(waited.out)")
        #expect(waited.out.contains("failed") && waited.out.contains("no good"), "\(waited.out)")
        // The answer as the server sent it: key order, 4.0 and a string's quotes kept.
        let order = folder + "-order.py"
        try "def handle(payload, context):\n    return {'b': 1, 'a': 4.0, 's': 'x'}\n".write(toFile: order, atomically: true, encoding: .utf8)
        try #require(try Self.run(gaia, ["deploy", order, "--name", "order"] + target).status == 0)
        let answered = try Self.run(gaia, ["invoke", "order"] + target)
        #expect(answered.out == #"{"b": 1, "a": 4.0, "s": "x"}"# + "\n", "\(answered.out)")
        // The failure is in the function's log, stamped; --since reads from then on, merged; --follow keeps reading.
        let logs = try Self.run(gaia, ["logs", "boom", "--since", "10m"] + target)
        #expect(logs.status == 0 && logs.out.contains(" gaia | \(id) failed with 500: the handler raised ValueError: no good"), "\(logs.out)\(logs.err)")
        let badSince = try Self.run(gaia, ["logs", "boom", "--since", "last tuesday"] + target)
        #expect(badSince.status != 0 && badSince.err.contains("--since: give a duration (30s, 10m, 2h, 1d) or an ISO 8601 time"), "\(badSince.err)")
        let followed = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-follow-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: followed, contents: nil)
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: gaia)
        follower.arguments = ["logs", "boom", "--follow"] + target
        follower.standardOutput = FileHandle(forWritingAtPath: followed)
        try follower.run()
        defer { if follower.isRunning { follower.terminate() } }
        let second = try Self.run(gaia, ["invoke", "boom", "--async"] + target).out.trimmingCharacters(in: .whitespacesAndNewlines)
        var seen = ""
        for _ in 0..<100 where !seen.contains("\(second) failed") {
            try await Task.sleep(for: .milliseconds(100))
            seen = (try? String(contentsOfFile: followed, encoding: .utf8)) ?? ""
        }
        #expect(seen.contains("\(id) failed") && seen.contains("\(second) failed"), "--follow printed the old line and the new one as it came: \(seen)")
        #expect(seen.components(separatedBy: "\(id) failed").count == 2, "no line printed twice: \(seen)")
        follower.terminate()
        // A handler written for another platform: deploy says which convention it recognised.
        let cog = folder + "-cog"
        try FileManager.default.createDirectory(atPath: cog, withIntermediateDirectories: true)
        try "from cog import BasePredictor\n\nclass Predictor(BasePredictor):\n    def predict(self, x: int = 1) -> int:\n        return x * 2\n"
            .write(toFile: cog + "/predict.py", atomically: true, encoding: .utf8)
        let deployedCog = try Self.run(gaia, ["deploy", cog, "--name", "doubler"] + target)
        #expect(deployedCog.status == 0 && deployedCog.out.contains("recognised a Cog handler: Predictor in predict.py, run unchanged"), "\(deployedCog.out)\(deployedCog.err)")
        #expect(try Self.run(gaia, ["invoke", "doubler", "--data", #"{"x": 21}"#] + target).out == "42\n")
        // One method of a service with several: --api.
        let service = folder + "-service.py"
        try "import bentoml\n\n@bentoml.service\nclass Tools:\n    @bentoml.api\n    def add(self, a: int, b: int) -> int:\n        return a + b\n\n    @bentoml.api\n    def neg(self, a: int) -> int:\n        return -a\n"
            .write(toFile: service, atomically: true, encoding: .utf8)
        try #require(try Self.run(gaia, ["deploy", service, "--name", "tools"] + target).status == 0)
        let added = try Self.run(gaia, ["invoke", "tools", "--api", "add", "--data", #"{"a": 2, "b": 3}"#] + target)
        #expect(added.status == 0 && added.out == "5\n", "\(added.out)\(added.err)")
        let nobody = try Self.run(gaia, ["ls", "--server", "127.0.0.1:\(ServeCommandTests.freePort())"])
        #expect(nobody.status != 0 && nobody.err.contains("nothing listens there: connection refused"), "\(nobody.err)")
        #expect(!nobody.err.contains("errno") && !nobody.err.contains("error set"), "\(nobody.err)")
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
    }

    @Test func aFolderWithABinaryFileAndRequirementsDeploysWithProgress() async throws {
        guard let gaia = ServeCommandTests.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests (run `swift build` first)")
        }
        let python = try #require(GaiaServerTests.python)
        guard PythonInterpreter.canImport(["numpy"], python: python) else {
            try Test.cancel("numpy is not installed for python3")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-cli-\(UUID().uuidString)/weights").path
        try FileManager.default.createDirectory(atPath: folder + "/model", withIntermediateDirectories: true)
        try ArchiveDeployTests.handler.replacingOccurrences(of: "import base64, os", with: "import base64, os, numpy")
            .write(toFile: folder + "/handler.py", atomically: true, encoding: .utf8)
        try Data(ArchiveDeployTests.weights).write(to: URL(fileURLWithPath: folder + "/model/weights.bin"))
        try "numpy  # the server's own copy is shared\n".write(toFile: folder + "/requirements.txt", atomically: true, encoding: .utf8)

        let (server, port, token) = try await Self.serve(gaia, data: folder + "-data")
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let target = ["--server", "http://127.0.0.1:\(port)", "--token", token]
        let deploy = try Self.run(gaia, ["deploy", folder] + target)
        #expect(deploy.status == 0, "\(deploy.out)\n\(deploy.err)")
        #expect(deploy.out.contains("deploying weights (3 file(s)"), "\(deploy.out)")
        #expect(deploy.err.contains("building environment") && deploy.err.contains("Requirement already satisfied: numpy"), "pip's progress is shown:\n\(deploy.err)")
        let invoke = try Self.run(gaia, ["invoke", "weights"] + target)
        #expect(invoke.status == 0, "\(invoke.err)")
        #expect(ArchiveDeployTests.weights(in: ByteBuffer(string: invoke.out)) == ArchiveDeployTests.weights, "the handler reads the weights back byte for byte")
        // A requirement pip cannot satisfy is refused with pip's message.
        try "gaia-no-such-package-7f3a==1.0\n".write(toFile: folder + "/requirements.txt", atomically: true, encoding: .utf8)
        let refused = try Self.run(gaia, ["deploy", folder, "--name", "refused"] + target)
        #expect(refused.status != 0 && refused.err.contains("pip could not install the requirements") && refused.err.contains("gaia-no-such-package-7f3a"), "\(refused.err)")
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
    }
}
