import Foundation
import GaiaAnalyzer
import GaiaCore
import Testing

@testable import GaiaRuntime

/// The examples written for other platforms (examples/cog-sentiment, hf-classifier, lambda-anomaly,
/// litserve-embed, runpod-stream), deployed on the platform as `gaia deploy FOLDER` uploads them,
/// unchanged, and answering correctly.
struct PlatformExamplesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every file of an example folder as `gaia deploy` uploads it.
    static func files(of example: String) throws -> [String: [UInt8]] {
        let root = repository.appendingPathComponent("examples/\(example)").path
        return try FunctionSource.uploadFiles(of: try FunctionSource.load(path: root), at: root)
    }

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], "\(String(decoding: bytes, as: UTF8.self))")
    }

    @Test func theOtherPlatformsExamplesDeployUnchangedAndAnswer() async throws {
        let python = try #require(WorkerProcessTests.python)
        guard PythonInterpreter.canImport(["numpy"], python: python) else {
            try Test.cancel("numpy is not installed for python3; litserve-embed needs it")
        }
        let rt = try testRuntime("platforms")
        let expected: [(String, HandlerConvention, String)] = [
            ("cog-sentiment", .cog, "Predictor"), ("hf-classifier", .huggingFaceEndpoints, "EndpointHandler"),
            ("lambda-anomaly", .awsLambdaHTTP, "lambda_handler"), ("litserve-embed", .litServe, "EmbeddingAPI"),
            ("runpod-stream", .runPod, "handler"),
        ]
        for (example, convention, handler) in expected {
            let manifest = try await rt.deploy(DeployRequest(name: example, files: try Self.files(of: example)))
            #expect(manifest.convention == convention && manifest.handler == handler, "\(example): \(String(describing: manifest.convention)) \(manifest.handler)")
            #expect(manifest.mode == .cpu, "\(example): \(manifest.rationale)")
        }
        func invoke(_ name: String, _ json: String) async throws -> [UInt8] {
            try await rt.invoke(name, body: Array(json.utf8), contentType: "application/json").outcome.response.body
        }
        let sentiment = try Self.object(try await invoke("cog-sentiment", #"{"text": "not bad, really great"}"#))
        #expect(sentiment["label"] as? String == "positive" && sentiment["matched"] as? Int == 2, "\(sentiment)")
        let wrapped = try Self.object(try await invoke("cog-sentiment", #"{"input": {"text": "awful and useless", "threshold": 0.5}}"#))
        #expect(wrapped["label"] as? String == "negative", "\(wrapped)")

        let topics = try #require(try JSONSerialization.jsonObject(with: Data(try await invoke(
            "hf-classifier", #"{"inputs": "the striker scored twice in the match", "parameters": {"top_k": 2}}"#))) as? [[String: Any]])
        #expect(topics.count == 2 && topics.first?["label"] as? String == "sports", "\(topics)")

        let anomalies = try Self.object(try await invoke("lambda-anomaly", #"{"values": [10, 11, 9, 10, 42, 10]}"#))
        #expect(anomalies["anomalies"] as? [Int] == [4], "\(anomalies)")
        await #expect(throws: (any Error).self, "too few values is the caller's error") {
            _ = try await invoke("lambda-anomaly", #"{"values": [1]}"#)
        }

        let embedding = try Self.object(try await invoke("litserve-embed", #"{"text": "serverless inference"}"#))
        let vector = try #require(embedding["embedding"] as? [Double])
        #expect(vector.count == 256 && abs(vector.reduce(0) { $0 + $1 * $1 }.squareRoot() - 1) < 1e-3)
        #expect(embedding["device"] as? String == "cpu")

        let stream = String(decoding: try await invoke("runpod-stream", #"{"n": 6}"#), as: UTF8.self)
        let values = stream.split(separator: "\n").compactMap { try? Self.object(Array($0.utf8))["value"] as? Int }
        #expect(values == [0, 1, 1, 2, 3, 5], "\(stream)")
        await rt.shutdown()
    }
}
