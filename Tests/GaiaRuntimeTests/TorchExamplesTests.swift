import Foundation
import GaiaCore
import GaiaStore
import Testing

@testable import GaiaRuntime

/// The torch examples (matmul-torch, resnet18, tinyllama) deployed on the platform and served on a
/// CPU rung and on a GPU rung (a CPU stand-in here; on a real GPU `bench/gpu/run.sh`): the same
/// code answers the same on both. They need torch, torchvision and transformers; without them the
/// tests skip, saying so. `GAIA_TEST_PYTHON` names an interpreter that has them.
@Suite(.serialized)
struct TorchExamplesTests {
    static let python: String? = {
        if let path = ProcessInfo.processInfo.environment["GAIA_TEST_PYTHON"] { return try? PythonInterpreter.resolve(path) }
        return WorkerProcessTests.python
    }()

    /// The interpreter that has `modules`; else the test is cancelled (skipped), saying why.
    static func available(_ modules: [String], for example: String) throws -> String {
        guard let python, PythonInterpreter.canImport(modules, python: python) else {
            try Test.cancel("\(example) example test: \(modules.joined(separator: ", ")) not installed for \(python ?? "python3") (set GAIA_TEST_PYTHON to one that has them)")
        }
        return python
    }

    static func files(_ example: String) throws -> [String: [UInt8]] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/\(example)/handler.py").path
        return ["handler.py": Array(try #require(FileManager.default.contents(atPath: path)))]
    }

    func runtime(python: String) throws -> FunctionRuntime {
        try testRuntime("torch", python: python) {
            $0.machine = Machine(cpus: Machine.discover().cpus, gpus: [.standIn(index: 0)])
            $0.memoryLimitMB = 0
            $0.pool.startTimeout = .seconds(300)
            $0.pool.invocationTimeout = .seconds(300)
        }
    }

    /// Deploys `example` pinned to `cpu-1` and to `gpu0` and returns both answers to `payload`.
    func answers(_ example: String, python: String, payload: String) async throws -> [[String: Any]] {
        let rt = try runtime(python: python)
        var answers: [[String: Any]] = []
        for (name, rung) in [("\(example)-cpu", Backend.cpu(cores: 1)), ("\(example)-gpu", .gpu(device: 0, smPercent: 100))] {
            let manifest = try await rt.deploy(DeployRequest(name: name, files: try Self.files(example), rung: rung))
            #expect(manifest.mode == .gpuPreferred, "\(manifest.rationale)")
            let reply = try await rt.invoke(name, body: Array(payload.utf8), contentType: "application/json")
            #expect(reply.backend == rung)
            answers.append(try #require(try JSONSerialization.jsonObject(with: Data(reply.outcome.response.body)) as? [String: Any]))
            try await rt.remove(name)
        }
        await rt.shutdown()
        return answers
    }

    @Test func matmulTorchAnswersTheSameOnEveryRung() async throws {
        let python = try Self.available(["torch"], for: "matmul-torch")
        let answers = try await answers("matmul-torch", python: python, payload: #"{"n": 600}"#)
        #expect(answers.map { $0["device"] as? String } == ["cpu", "cpu"], "the stand-in has no GPU: the function falls back to the CPU")
        #expect(answers[0]["checksum"] as? Double == answers[1]["checksum"] as? Double)
    }

    @Test func resnet18ClassifiesOnEveryRung() async throws {
        let python = try Self.available(["torch", "torchvision"], for: "resnet18")
        let answers = try await answers("resnet18", python: python, payload: #"{"batch": 2}"#)
        #expect(answers.allSatisfy { ($0["classes"] as? [Int])?.count == 2 && $0["device"] as? String == "cpu" })
    }

    @Test func tinyllamaGeneratesExactlyTheTokensAskedFor() async throws {
        let python = try Self.available(["torch", "transformers"], for: "tinyllama")
        let rt = try runtime(python: python)
        let manifest = try await rt.deploy(DeployRequest(name: "tinyllama", files: try Self.files("tinyllama"), rung: .cpu(cores: 1)))
        #expect(manifest.mode == .gpuPreferred && manifest.estimatedWork.generates, "\(manifest.rationale)")
        let reply = try await rt.invoke("tinyllama", body: Array(#"{"tokens": 3, "prompt_tokens": 4}"#.utf8), contentType: "application/json")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(reply.outcome.response.body)) as? [String: Any])
        #expect((answer["ids"] as? [Int])?.count == 3 && answer["tokens"] as? Int == 3)
        await rt.shutdown()
    }
}
