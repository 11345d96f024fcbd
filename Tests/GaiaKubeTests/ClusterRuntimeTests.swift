import AsyncHTTPClient
import Foundation
import GaiaCore
import GaiaKube
import GaiaRuntime
import GaiaStore
import NIOCore
import NIOHTTP1
import Testing

/// `gaia serve --cluster`'s runtime, end to end but for the cluster: the same `FunctionRuntime`
/// (controller, store) over `KnativeCluster`, talking to the fake API server, with each variant's
/// "pods" played by Gaia's worker shim in HTTP mode (as in the runtime image) on a local port.
@Suite(.serialized)
struct ClusterRuntimeTests {
    static let services = KubeClientTests.services
    static let revisions = KubeClientTests.revisions
    static let configMaps = "/api/v1/namespaces/ml/configmaps"

    /// A handler slower on the CPU variant than on the GPU one (`GAIA_BACKEND` is the variant's rung).
    static let handler = """
        import os, time

        def handle(payload, context):
            backend = os.environ.get("GAIA_BACKEND", "")
            if isinstance(payload, dict) and payload.get("fail"):
                raise ValueError("asked to fail")
            time.sleep(0.03 if backend.startswith("cpu") else 0.002)
            return {"backend": backend, "n": payload.get("n") if isinstance(payload, dict) else None}
        """

    /// One variant's pod: the shim serving `directory` over HTTP on a free port; `stop()` reaps it.
    final class Pod: Sendable {
        let process: Process
        let url: String

        init(python: String, directory: String, backend: String) async throws {
            let port = try Self.freePort(python)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [try WorkerShim.path()]
            process.environment = ProcessInfo.processInfo.environment.merging([
                "GAIA_HTTP_PORT": String(port), "GAIA_FUNCTION_DIR": directory, "GAIA_BACKEND": backend, "GAIA_FUNCTION_NAME": "matmul",
            ]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            self.process = process
            url = "http://127.0.0.1:\(port)"
            for _ in 0..<200 {
                let health = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url + "/healthz"), timeout: .seconds(1))
                if health?.status == .ok { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            stop()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "the shim did not answer on \(url)/healthz"])
        }

        static func freePort(_ python: String) throws -> Int {
            let probe = Process()
            let pipe = Pipe()
            probe.executableURL = URL(fileURLWithPath: python)
            probe.arguments = ["-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"]
            probe.standardOutput = pipe
            try probe.run()
            probe.waitUntilExit()
            return try #require(Int(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        }

        /// SIGKILL: a child of the test process may inherit a mask that blocks SIGTERM.
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static func runtime(port: Int, endpoints: [String: String], controller: ModeControllerSettings = ModeControllerSettings()) throws -> FunctionRuntime {
        let client = try KubeClientTests().client(port)
        var options = KubeRenderOptions()
        options.image = "registry.example.com/gaia/runtime:cpu"
        options.gpuImage = "registry.example.com/gaia/runtime:gpu"
        let cluster = KnativeCluster(client: client, options: options, reconcileTimeout: .seconds(5), endpoint: { endpoints[$0] })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-cluster-\(UUID().uuidString)").path
        var configuration = RuntimeConfiguration(dataDirectory: dir, python: "python3")
        configuration.cluster = cluster
        configuration.forkServer = false
        configuration.controller = controller
        configuration.keepAlive.useDefaultKeepAlive(.seconds(600))
        configuration.pool.startTimeout = .seconds(5)
        return FunctionRuntime(configuration: configuration, database: try GaiaDatabase.inMemory())
    }

    /// What the fake API answers while a function is deployed on the cluster's CPU variant.
    static func scriptDeploy(_ api: FakeAPI, cpuRevision: FakeAPI.Reply = .fixture(200, "revision-cpu-ready.json")) async {
        await api.on("PATCH", "\(configMaps)/\(codeName)", .fixture(200, "configmap.json"))
        for variant in ["cpu", "gpu"] {
            await api.on("PATCH", "\(services)/matmul-\(variant)", .fixture(200, "service-\(variant)-ready.json"))
            await api.on("GET", "\(services)/matmul-\(variant)", .fixture(200, "service-\(variant)-ready.json"))
        }
        await api.on("PATCH", "\(revisions)/matmul-cpu-00001", cpuRevision)
        await api.on("GET", "\(revisions)/matmul-cpu-00001", cpuRevision)
        // The instance-count watch: a list, then a watch that ends (and is resumed).
        await api.on("GET", "\(revisions) ?gaia.dev/function", .fixture(200, "revision-list.json"))
        await api.on("GET", "\(revisions) watch ?gaia.dev/function", .watch([], cut: false))
    }

    static let files = ["handler.py": Array(handler.utf8)]
    static let codeName = KnativeCluster.codeConfigMap(function: "matmul", files: files).name

    @Test func aFunctionServedOnTheClusterSwitchesVariantsByTheDocumentedSequenceWithNoNewRevision() async throws {
        let python = try #require(try? PythonInterpreter.resolve("python3"), "python3 is required for the pods")
        let code = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-pod-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
        try Data(Self.handler.utf8).write(to: URL(fileURLWithPath: code + "/handler.py"))
        let cpuPod = try await Pod(python: python, directory: code, backend: "cpu-1")
        defer { cpuPod.stop() }
        let gpuPod = try await Pod(python: python, directory: code, backend: "gpu0")
        defer { gpuPod.stop() }

        let api = FakeAPI()
        await Self.scriptDeploy(api)
        // The switch: the GPU revision is cold, warms, and is ready; then the CPU one is lowered.
        await api.on("PATCH", "\(Self.revisions)/matmul-gpu-00001", .fixture(200, "revision-gpu-cold.json"))
        await api.on("GET", "\(Self.revisions)/matmul-gpu-00001", .fixture(200, "revision-gpu-cold.json"))
        await api.on(
            "GET", "\(Self.revisions) watch ?metadata.name=matmul-gpu-00001",
            .watch([("MODIFIED", "revision-gpu-warming.json"), ("MODIFIED", "revision-gpu-warm.json")], cut: false))
        await api.on("DELETE", "\(Self.services)/matmul-cpu", .fixture(200, "status-deleted.json"))
        await api.on("DELETE", "\(Self.services)/matmul-gpu", .fixture(200, "status-deleted.json"))
        await api.on("DELETE", Self.configMaps, .fixture(200, "status-deleted.json"))

        var controller = ModeControllerSettings()
        controller.window = .seconds(4)
        controller.minSamples = 8
        controller.cooldown = .seconds(1)
        let endpoints = ["matmul-cpu": cpuPod.url, "matmul-gpu": gpuPod.url]
        let settings = controller
        let (seen, deployedAt, answers, decisions) = try await api.serve { port in
            let runtime = try Self.runtime(port: port, endpoints: endpoints, controller: settings)
            let manifest = try await runtime.deploy(DeployRequest(
                name: "matmul", files: Self.files, mode: .cpuPreferred, slo: SLO(statistic: .p95, thresholdMs: 15, windowSeconds: 4)))
            #expect(manifest.mode == .cpuPreferred)
            // The pod's answers read as a worker's: its handler's error, a payload that is not JSON.
            await #expect(throws: WorkerError.handlerFailed(error: "ValueError: asked to fail", traceback: "")) {
                do {
                    _ = try await runtime.invoke("matmul", body: Array(#"{"fail": true}"#.utf8), contentType: "application/json")
                } catch WorkerError.handlerFailed(let error, let traceback) where traceback.contains("asked to fail") {
                    throw WorkerError.handlerFailed(error: error, traceback: "")
                }
            }
            await #expect {
                _ = try await runtime.invoke("matmul", body: Array("{not json".utf8), contentType: "application/json")
            } throws: { ($0 as? WorkerError).map { if case .badRequest(let why) = $0 { why.contains("not valid JSON") } else { false } } ?? false }
            let deployedAt = await api.seen.count
            var answers: [(backend: String, body: String)] = []
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline, answers.suffix(3).contains(where: { $0.backend != "gpu0" }) || answers.count < 3 {
                let result = try await runtime.invoke("matmul", body: Array(#"{"n": \#(answers.count)}"#.utf8), contentType: "application/json")
                answers.append((result.backend.description, String(decoding: result.outcome.response.body, as: UTF8.self)))
                await runtime.tick()
            }
            await runtime.tick()
            await runtime.actionsCarriedOut()
            let decisions = try runtime.database.decisions(of: "matmul", limit: 20)
            try await runtime.remove("matmul")
            await runtime.shutdown()
            return (await api.seen, deployedAt, answers, decisions)
        }

        // Requests were answered by the variant serving at the time, CPU first, then GPU.
        #expect(answers.first?.backend == "cpu-1" && answers.last?.backend == "gpu0")
        #expect(answers.first?.body.contains(#""backend": "cpu-1""#) == true, "\(answers.first?.body ?? "")")
        #expect(answers.last?.body.contains(#""backend": "gpu0""#) == true, "\(answers.last?.body ?? "")")
        let promotion = try #require(decisions.first { $0.kind == "promote" })
        #expect(promotion.from == "cpu-1" && promotion.to == "gpu0" && promotion.reason.contains("warmed on gpu0 before traffic moved"))

        // The deploy: the code's ConfigMap, then both Services by server-side apply as Gaia.
        let writes = seen.prefix(deployedAt).filter { $0.method != "GET" }
        #expect(writes.prefix(3).map(\.line) == [
            "PATCH \(Self.configMaps)/\(Self.codeName)", "PATCH \(Self.services)/matmul-cpu", "PATCH \(Self.services)/matmul-gpu",
        ])
        #expect(writes.prefix(3).allSatisfy { $0.query == ["fieldManager": "gaia", "force": "true"] && $0.contentType == "application/apply-patch+yaml" })
        let bodies = writes.prefix(3).map { $0.body.replacingOccurrences(of: "\\/", with: "/") }
        #expect(bodies[1].contains(Self.codeName) && bodies[1].contains("registry.example.com/gaia/runtime:cpu"))
        #expect(bodies[2].contains(Self.codeName) && bodies[2].contains("registry.example.com/gaia/runtime:gpu"))

        // After it, until the delete: only revisions' min-scale changes, in the documented order.
        let after = Array(seen.dropFirst(deployedAt).prefix { $0.method != "DELETE" })
        #expect(!after.contains { $0.method != "GET" && !$0.path.hasPrefix(Self.revisions) }, "no Service or ConfigMap written: no new revision")
        func minScale(_ s: FakeAPI.Seen) -> String? {
            let object = try? JSONSerialization.jsonObject(with: Data(s.body.utf8)) as? [String: Any]
            return ((object?["metadata"] as? [String: Any])?["annotations"] as? [String: String])?["autoscaling.knative.dev/min-scale"]
        }
        let raise = try #require(after.firstIndex { $0.method == "PATCH" && $0.path.hasSuffix("matmul-gpu-00001") })
        #expect(minScale(after[raise]) == "1")
        let observe = try #require(after[raise...].firstIndex { $0.method == "GET" && $0.query["fieldSelector"] == "metadata.name=matmul-gpu-00001" })
        let lower = try #require(after[observe...].firstIndex { $0.method == "PATCH" && $0.path.hasSuffix("matmul-cpu-00001") })
        #expect(minScale(after[lower]) == "0")
        #expect(after[..<raise].allSatisfy { !$0.path.hasSuffix("matmul-gpu-00001") })

        // Deleting the function deletes both Services and its ConfigMaps.
        let deletes = seen.filter { $0.method == "DELETE" }
        #expect(deletes.map(\.path) == ["\(Self.services)/matmul-cpu", "\(Self.services)/matmul-gpu", Self.configMaps])
        #expect(deletes.last?.query["labelSelector"] == "gaia.dev/function=matmul")
    }

    @Test func aRevisionWhoseContainerFailsRefusesTheDeployWithKnativesReason() async throws {
        let api = FakeAPI()
        await Self.scriptDeploy(api, cpuRevision: .fixture(200, "revision-cpu-failed.json"))
        let (error, stored) = try await api.serve { port in
            let runtime = try Self.runtime(port: port, endpoints: [:])
            var refused: PlatformError?
            do {
                try await runtime.deploy(DeployRequest(name: "matmul", files: Self.files, mode: .cpuPreferred))
            } catch let error as PlatformError {
                refused = error
            }
            let stored = try runtime.database.functions().count
            await runtime.shutdown()
            return (refused, stored)
        }
        #expect(stored == 0, "a refused deploy stores nothing")
        let refused = try #require(error)
        #expect(refused.code == "init_failed" && refused.statusCode == 400)
        #expect(refused.message.contains("ExitCode3") && refused.message.contains("No module named 'torch'"), "\(refused.message)")
    }

    @Test func filesTooLargeForAConfigMapAreRefusedBeforeAnythingIsWritten() async throws {
        let api = FakeAPI()
        let (error, seen) = try await api.serve { port in
            let runtime = try Self.runtime(port: port, endpoints: [:])
            let big = ["handler.py": Array("def handle(p, c):\n    return 1\n".utf8), "weights.bin": [UInt8](repeating: 7, count: 800 * 1024)]
            var refused: PlatformError?
            do { try await runtime.deploy(DeployRequest(name: "matmul", files: big)) } catch let e as PlatformError { refused = e }
            await runtime.shutdown()
            return (refused, await api.seen)
        }
        #expect(error?.code == "too_large" && error?.statusCode == 413)
        #expect(!seen.contains { $0.method != "GET" }, "nothing applied")
    }
}
