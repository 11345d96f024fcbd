import Foundation
import GaiaAnalyzer
import GaiaCore
import Testing

@testable import GaiaRuntime

/// Handlers written for other platforms (Fixtures/platforms, one folder each, in the platform's
/// own shape) found by the analyzer and run unchanged by the shim on a real worker, with the
/// platforms' SDKs absent (their imports resolve to the shim's stand-ins).
struct PlatformHandlerTests {
    enum Answer: Sendable {
        /// The JSON the handler's answer must equal.
        case json(String)
        /// The text it must equal.
        case text(String)
        /// The caller's error (400) whose message contains this.
        case refused(String)
        /// The handler's error (500) whose message contains this.
        case failed(String)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let folder: String
        let convention: HandlerConvention
        let payload: String
        var contentType = "application/json"
        let answer: Answer
        var testDescription: String { "\(folder) \(payload.prefix(40))" }
    }

    static let cases: [Case] = [
        Case(folder: "cog", convention: .cog, payload: #"{"text": "good great day", "scale": 2}"#, answer: .json(#"{"score": 6.0, "words": 3}"#)),
        Case(folder: "cog", convention: .cog, payload: #"{"input": {"text": "awful"}}"#, answer: .json(#"{"score": -2.0, "words": 1}"#)),
        Case(folder: "cog", convention: .cog, payload: #"{"txt": "typo"}"#, answer: .refused("unknown input(s) txt: predict takes scale, text")),
        Case(folder: "hf-endpoints", convention: .huggingFaceEndpoints, payload: #"{"inputs": "hello", "parameters": {"top_k": 1}}"#,
             answer: .json(#"[{"label": "sports", "score": 0.5258}]"#)),
        Case(folder: "truss", convention: .truss, payload: #"{"values": [1, 2, 3]}"#, answer: .json(#"{"predictions": [2, 4, 6], "count": 3}"#)),
        Case(folder: "truss-stream", convention: .truss, payload: #"{"n": 2}"#, answer: .text("one two ")),
        Case(folder: "litserve", convention: .litServe, payload: #"{"input": 7}"#, answer: .json(#"{"output": 49, "device": "cpu"}"#)),
        Case(folder: "runpod", convention: .runPod, payload: #"{"name": "Ada"}"#, answer: .text("Hello, Ada! (job True)")),
        Case(folder: "runpod", convention: .runPod, payload: #"{"name": 5}"#, answer: .failed("name must be a string")),
        Case(folder: "bentoml", convention: .bentoML, payload: #"{"api": "count", "text": "a b c"}"#, answer: .json(#"{"words": 3}"#)),
        Case(folder: "bentoml", convention: .bentoML, payload: #"{"api": "summarize", "text": "one two three four", "words": 2}"#,
             answer: .text("one two")),
        Case(folder: "bentoml", convention: .bentoML, payload: #"{"text": "x"}"#, answer: .refused(#"name one as the payload's "api""#)),
        Case(folder: "ray-serve", convention: .rayServe, payload: #"{"text": "hi"}"#, answer: .text("HI!")),
        Case(folder: "modal", convention: .modal, payload: #"{"text": "education"}"#, answer: .json("5")),
        Case(folder: "aws-lambda", convention: .awsLambda, payload: #"{"numbers": [1, 2, 3]}"#,
             answer: .json(#"{"total": 6, "request": true, "remaining_ms": true}"#)),
        Case(folder: "aws-lambda-http", convention: .awsLambdaHTTP, payload: #"{"name": "Ada"}"#,
             answer: .json(#"{"message": "hello Ada", "method": "POST"}"#)),
        Case(folder: "aws-lambda-http", convention: .awsLambdaHTTP, payload: "{}", answer: .refused("the handler answered 400: {\"message\": \"name is required\"}")),
        Case(folder: "azure-functions", convention: .azureFunctions, payload: #"{"values": [1, 2, 3]}"#, answer: .json(#"{"mean": 2.0}"#)),
        Case(folder: "azure-functions", convention: .azureFunctions, payload: "not json", contentType: "text/plain",
             answer: .refused("Please pass a JSON body")),
        Case(folder: "azure-functions-v2", convention: .azureFunctions, payload: #"{"name": "Ada"}"#, answer: .text("Hello, Ada.")),
        Case(folder: "google-cloud-functions", convention: .googleCloudFunctions, payload: #"{"name": "Ada"}"#,
             answer: .json(#"{"greeting": "Hello Ada!"}"#)),
        Case(folder: "google-cloud-functions", convention: .googleCloudFunctions, payload: "{}", answer: .refused("name is required")),
        Case(folder: "openfaas", convention: .openFaaS, payload: "stressed", contentType: "text/plain", answer: .text("desserts")),
        Case(folder: "openfaas-http", convention: .openFaaSHTTP, payload: #"{"a": 1, "b": 2}"#, answer: .json(#"{"sum": 3, "method": "POST"}"#)),
        Case(folder: "knative-func", convention: .knativeFunc, payload: #"{"x": 1}"#, answer: .json(#"{"echo": {"x": 1}, "method": "POST"}"#)),
        Case(folder: "knative-func-asgi", convention: .knativeFuncASGI, payload: #"{"name": "Ada"}"#,
             answer: .json(#"{"hello": "Ada", "prefix": "started"}"#)),
    ]

    static func folder(_ name: String) throws -> String {
        try #require(Bundle.module.path(forResource: "platforms/" + name, ofType: nil, inDirectory: "Fixtures"))
    }

    /// A worker for a fixture, configured as a deploy would: the analyzer's entry point, handler and convention.
    static func worker(_ folder: String, environment: [String: String] = [:], concurrency: Int = 1) throws -> (WorkerProcess, FunctionManifest) {
        let python = try #require(WorkerProcessTests.python, "python3 is required for worker tests")
        let directory = try Self.folder(folder)
        let manifest = ExecutionModeAnalyzer().analyze(try FunctionSource.load(path: directory))
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-platform-\(folder)-\(UUID().uuidString).log").path
        var configuration = WorkerConfiguration(
            python: python, functionDirectory: directory, entryPoint: manifest.entryPoint, handler: manifest.handler, functionName: folder,
            backend: .cpu(cores: 1), logPath: log, concurrency: concurrency)
        configuration.convention = manifest.handlerConvention
        configuration.environment.merge(environment) { $1 }
        return (WorkerProcess(configuration: configuration), manifest)
    }

    static func same(_ body: [UInt8], _ expected: String) throws -> Bool {
        let got = try JSONSerialization.jsonObject(with: Data(body), options: .fragmentsAllowed)
        let want = try JSONSerialization.jsonObject(with: Data(expected.utf8), options: .fragmentsAllowed)
        func canonical(_ value: Any) throws -> Data { try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) }
        return try canonical(got) == canonical(want)
    }

    @Test(arguments: cases)
    func aPlatformsHandlerRunsUnchanged(_ c: Case) async throws {
        let (worker, manifest) = try Self.worker(c.folder)
        #expect(manifest.handlerConvention == c.convention, "\(c.folder): \(manifest.handlerConvention) \(manifest.handler) in \(manifest.entryPoint)")
        try await worker.start()
        defer { Task { await worker.terminate() } }
        do {
            let response = try await worker.invoke(Array(c.payload.utf8), contentType: c.contentType)
            let text = String(decoding: response.body, as: UTF8.self)
            switch c.answer {
            case .json(let expected): #expect(try Self.same(response.body, expected), "\(c.folder): \(text)")
            case .text(let expected): #expect(text == expected, "\(c.folder): \(text)")
            case .refused, .failed: Issue.record("\(c.folder) must fail, answered \(text)")
            }
        } catch WorkerError.badRequest(let message) {
            guard case .refused(let expected) = c.answer else { Issue.record("\(c.folder) refused: \(message)"); return }
            #expect(message.contains(expected), "\(c.folder): \(message)")
        } catch WorkerError.handlerFailed(let message, _) {
            guard case .failed(let expected) = c.answer else { Issue.record("\(c.folder) failed: \(message)"); return }
            #expect(message.contains(expected), "\(c.folder): \(message)")
        }
        #expect(await worker.isAlive, "a refused or failed request leaves the instance serving")
    }

    /// Google Cloud Functions' and Knative func's handlers get a real Flask request where Flask is
    /// installed; without it (here: an import of flask that fails) the shim's own request serves.
    @Test func aFlaskStyleHandlerRunsWithoutFlask() async throws {
        let blocker = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-no-flask-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: blocker + "/flask", withIntermediateDirectories: true)
        try Data("raise ImportError('flask is not installed (blocked by the test)')\n".utf8).write(to: URL(fileURLWithPath: blocker + "/flask/__init__.py"))
        let (worker, _) = try Self.worker("google-cloud-functions", environment: ["PYTHONPATH": blocker])
        try await worker.start()
        defer { Task { await worker.terminate() } }
        let response = try await worker.invoke(Array(#"{"name": "Ada"}"#.utf8), contentType: "application/json")
        #expect(try Self.same(response.body, #"{"greeting": "Hello Ada!"}"#), "\(String(decoding: response.body, as: UTF8.self))")
        await #expect(throws: WorkerError.badRequest("the handler answered 400: name is required")) {
            _ = try await worker.invoke(Array("{}".utf8), contentType: "application/json")
        }
    }

    /// A LitServe API served with a batch size gets Gaia's batches in one predict call.
    @Test func aLitServeAPIIsBatched() async throws {
        let (worker, manifest) = try Self.worker("litserve", environment: ["GAIA_MAX_BATCH": "4"], concurrency: 4)
        #expect(HandlerConventions.detect(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: try Self.folder("litserve") + "/server.py"))))?.maxBatch == 4)
        #expect(manifest.handler == "SquareLitAPI")
        try await worker.start()
        defer { Task { await worker.terminate() } }
        let outputs = try await withThrowingTaskGroup(of: (Int, Int?).self) { group in
            for n in 1...3 {
                group.addTask {
                    let response = try await worker.invoke(
                        Array(#"{"input": \#(n)}"#.utf8), contentType: "application/json", batch: .init(group: 1, size: 3))
                    return (n, (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["output"] as? Int)
                }
            }
            return try await group.reduce(into: [Int: Int?]()) { $0[$1.0] = $1.1 }
        }
        #expect(outputs == [1: 1, 2: 4, 3: 9])
    }
}
