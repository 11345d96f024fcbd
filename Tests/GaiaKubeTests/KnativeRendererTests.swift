import Foundation
import GaiaCore
import GaiaKube
import Testing

/// The Knative Services and images `gaia kube render` makes of a function.
struct KnativeRendererTests {
    func manifest(_ mode: ExecutionMode, name: String = "matmul", frameworks: [String] = ["numpy"]) -> FunctionManifest {
        FunctionManifest(
            name: name, entryPoint: "handler.py", handler: "handle", detectedMode: mode, confidence: 0.95,
            rationale: "\(mode): multiplies numpy arrays with @ (handler.py:26)",
            evidence: [Evidence(kind: .cpuCompute, file: "handler.py", line: 26, detail: "multiplies numpy arrays with @", weight: 0.4)],
            frameworks: frameworks, estimatedWork: WorkEstimate(), analyzerVersion: "gaia-analyzer 1")
    }

    /// Every mode with several option combinations, as JSON files.
    func renderings() throws -> [(label: String, service: KnativeService)] {
        var cases: [(String, FunctionManifest, KubeRenderOptions)] = []
        for mode in ExecutionMode.allCases {
            cases.append(("\(mode) default", manifest(mode), KubeRenderOptions()))
            var big = KubeRenderOptions()
            big.namespace = "ml"
            big.image = "registry.example.com/team/matmul@sha256:0123"
            big.cpuCores = 8
            big.memoryMiB = 16_384
            big.keepAlive.mode = .fixed(seconds: 600)
            big.autoscaler.stableWindow = .seconds(120)
            var m = manifest(mode, frameworks: ["numpy", "torch", "transformers"])
            m.slo = SLO(statistic: .p99, thresholdMs: 250, windowSeconds: 30)
            m.minScale = 2
            m.maxScale = 20
            m.concurrency = 4
            cases.append(("\(mode) big", m, big))
            var shared = KubeRenderOptions()
            shared.smPercent = 50
            shared.gpuResource = "nvidia.com/gpu.shared"
            shared.gpuTaint = nil
            shared.gpuNodeSelector = [:]
            var batched = manifest(mode)
            batched.maxBatch = 16
            batched.override(with: mode == .gpu ? .gpuPreferred : mode)
            cases.append(("\(mode) mps share", batched, shared))
            // As gaia serve --cluster renders: runtime images, the files from a ConfigMap.
            var served = KubeRenderOptions()
            served.image = "registry.example.com/gaia/runtime:cpu"
            served.gpuImage = "registry.example.com/gaia/runtime:gpu"
            served.code = CodeConfigMap(name: "matmul-code-0123456789ab", paths: ["handler.py", "lib/util.py", "weights.bin"])
            cases.append(("\(mode) served from a ConfigMap", manifest(mode), served))
        }
        var pinned = manifest(.cpuPreferred)
        pinned.rung = "cpu-4"
        cases.append(("pinned cpu-4", pinned, KubeRenderOptions()))
        return try cases.flatMap { label, m, options in
            try KnativeRenderer.services(for: m, revision: 3, options: options).map { ("\(label) \($0.metadata.name ?? "")", $0) }
        }
    }

    /// Runs the schema validator on `documents`; nil when it cannot run here (jsonschema missing),
    /// which `.ci/run` does not allow (it sets GAIA_REQUIRE_KUBE_SCHEMA).
    func validate(_ documents: [(String, Data)]) throws -> (status: Int32, output: String)? {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-kube-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (i, (label, data)) in documents.enumerated() {
            let url = dir.appendingPathComponent("\(i)-\(label.replacingOccurrences(of: " ", with: "_")).json")
            try data.write(to: url)
            paths.append(url.path)
        }
        let fixtures = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", fixtures.appendingPathComponent("validate_knative.py").path,
                             fixtures.appendingPathComponent("knative/service.yaml").path] + paths
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 2 {
            #expect(ProcessInfo.processInfo.environment["GAIA_REQUIRE_KUBE_SCHEMA"] == nil, "\(output)")
            print("skipped: the Knative schema check needs python3 with jsonschema and PyYAML (\(output.trimmingCharacters(in: .whitespacesAndNewlines)))")
            return nil
        }
        return (process.terminationStatus, output)
    }

    func json(_ service: KnativeService) throws -> Data { try JSONEncoder().encode(service) }

    @Test func everyRenderedServiceValidatesAgainstKnativesOwnSchema() throws {
        let rendered = try renderings()
        // Per option set 1 + 2 + 2 + 1 Services (the preferred modes have both variants; the share set
        // forces gpu to gpu_preferred), and the pinned function one.
        #expect(rendered.count == 6 + 6 + 7 + 6 + 1)
        guard let result = try validate(try rendered.map { ($0.label, try json($0.service)) }) else { return }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("\(rendered.count) of \(rendered.count) valid"), "\(result.output)")
    }

    @Test func theSchemaCheckRejectsWhatKnativeWouldNotTake() throws {
        let service = try #require(try renderings().first).service
        var object = try #require(try JSONSerialization.jsonObject(with: try json(service)) as? [String: Any])
        var spec = try #require(object["spec"] as? [String: Any])
        var template = try #require(spec["template"] as? [String: Any])
        var podSpec = try #require(template["spec"] as? [String: Any])
        podSpec["containerConcurrency"] = "four"  // a string where an integer belongs
        podSpec["nodeselector"] = ["gpu": "yes"]  // a misspelt key the server would drop
        template["spec"] = podSpec
        spec["template"] = template
        object["spec"] = spec
        guard let result = try validate([("broken", try JSONSerialization.data(withJSONObject: object))]) else { return }
        #expect(result.status == 1)
        #expect(result.output.contains("containerConcurrency") && result.output.contains("nodeselector"), "\(result.output)")
    }

    @Test func theVariantsFollowTheModeAndTrafficStartsOnThePreferredOne() throws {
        func names(_ m: FunctionManifest) throws -> [String] { try KnativeRenderer.services(for: m).compactMap(\.metadata.name) }
        #expect(try names(manifest(.cpu)) == ["matmul-cpu"])
        #expect(try names(manifest(.cpuPreferred)) == ["matmul-cpu", "matmul-gpu"])
        #expect(try names(manifest(.gpuPreferred)) == ["matmul-gpu", "matmul-cpu"])
        #expect(try names(manifest(.gpu)) == ["matmul-gpu"])
        var pinned = manifest(.cpu)
        pinned.rung = "gpu0-50"
        #expect(try names(pinned) == ["matmul-gpu"])
        #expect(throws: KubeRenderError.self) { try KnativeRenderer.services(for: manifest(.cpu, name: String(repeating: "a", count: 54))) }
        var bad = KubeRenderOptions()
        bad.smPercent = 0
        #expect(throws: KubeRenderError.self) { try KnativeRenderer.services(for: manifest(.gpu), options: bad) }
    }

    @Test func annotationsCarryTheDecisionAndGaiasPolicy() throws {
        var m = manifest(.gpuPreferred)
        m.slo = SLO(statistic: .p95, thresholdMs: 300)
        m.minScale = 1
        m.concurrency = 2
        var options = KubeRenderOptions()
        options.keepAlive.mode = .fixed(seconds: 900)
        options.smPercent = 30
        let services = try KnativeRenderer.services(for: m, revision: 7, options: options)
        let gpu = services[0], cpu = services[1]
        let a = try #require(gpu.metadata.annotations)
        #expect(a["gaia.dev/mode"] == "gpu_preferred" && a["gaia.dev/confidence"] == "0.95" && a["gaia.dev/slo"] == "p95=300ms")
        #expect(a["gaia.dev/evidence"] == "handler.py:26 cpu_compute" && a["gaia.dev/revision"] == "7")
        #expect(gpu.metadata.labels?["networking.knative.dev/visibility"] == "cluster-local")
        let t = try #require(gpu.spec.template.metadata.annotations)
        #expect(t["autoscaling.knative.dev/min-scale"] == "1", "traffic starts here: the user's min scale")
        #expect(cpu.spec.template.metadata.annotations?["autoscaling.knative.dev/min-scale"] == "0", "the other variant waits at zero")
        #expect(t["autoscaling.knative.dev/target"] == "1.4" && t["autoscaling.knative.dev/max-scale"] == "10")
        #expect(t["autoscaling.knative.dev/window"] == "60s" && t["autoscaling.knative.dev/scale-to-zero-pod-retention-period"] == "900s")
        let container = try #require(gpu.spec.template.spec.containers.first)
        #expect(container.resources.limits["nvidia.com/gpu"] == "1" && container.resources.limits["cpu"] == "2")
        #expect(container.env.contains { $0.name == "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE" && $0.value == "30" })
        #expect(container.image == "gaia/matmul:r7" && gpu.spec.template.spec.containerConcurrency == 2)
        #expect(gpu.spec.template.spec.nodeSelector == ["nvidia.com/gpu.present": "true"])
        #expect(gpu.spec.template.spec.tolerations?.first?.key == "nvidia.com/gpu")
        let cpuContainer = try #require(cpu.spec.template.spec.containers.first)
        #expect(cpuContainer.resources.limits["nvidia.com/gpu"] == nil && cpu.spec.template.spec.nodeSelector == nil)
        #expect(cpuContainer.env.contains { $0.name == "GAIA_DEVICE" && $0.value == "cpu" })
    }

    @Test func theImageInstallsWhatTheFunctionImportsOnTheRightBase() {
        let m = manifest(.gpuPreferred, frameworks: ["numpy", "torch", "torchvision"])
        let cpu = FunctionImage.dockerfile(for: m, variant: .cpu, hasRequirements: true)
        let gpu = FunctionImage.dockerfile(for: m, variant: .gpu, hasRequirements: false)
        #expect(cpu.contains("FROM \(FunctionImage.cpuBase)") && gpu.contains("FROM \(FunctionImage.gpuBase)"))
        #expect(cpu.contains("--extra-index-url https://download.pytorch.org/whl/cpu numpy torch torchvision"))
        #expect(gpu.contains("pip install numpy torch torchvision") && !gpu.contains("whl/cpu"))
        #expect(cpu.contains("pip install -r /function/requirements.txt") && !gpu.contains("requirements.txt"))
        #expect(cpu.contains("GAIA_HTTP_PORT=8080") && cpu.contains(#"CMD ["python3", "/gaia/gaia_worker.py"]"#))
        #expect(cpu.contains("USER 65532:65532"))
        // Both shim files, and the handler's convention: another platform's handler runs in the image unchanged.
        #expect(cpu.contains("COPY gaia_worker.py gaia_platforms.py /gaia/") && cpu.contains("GAIA_CONVENTION=gaia"))
        var cog = m
        cog.entryPoint = "predict.py"
        cog.handler = "Predictor"
        cog.convention = .cog
        let cogImage = FunctionImage.dockerfile(for: cog, variant: .cpu, hasRequirements: false)
        #expect(cogImage.contains("GAIA_ENTRY_POINT=predict.py GAIA_HANDLER=Predictor GAIA_CONVENTION=cog"))
        // The runtime images of `serve --cluster`: the shim and the packages, no function (mounted at /function).
        let runtimeCPU = FunctionImage.runtimeDockerfile(variant: .cpu, packages: ["numpy", "torch", "cupy-cuda12x"])
        let runtimeGPU = FunctionImage.runtimeDockerfile(variant: .gpu, packages: ["numpy", "torch", "cupy-cuda12x"])
        #expect(runtimeCPU.contains("whl/cpu numpy torch\n") && runtimeGPU.contains("pip install numpy torch cupy-cuda12x"))
        #expect(!runtimeCPU.contains("COPY function") && runtimeCPU.contains("GAIA_FUNCTION_DIR=/function GAIA_HTTP_PORT=8080"))
        #expect(runtimeGPU.contains("FROM \(FunctionImage.gpuBase)") && runtimeGPU.contains("USER 65532:65532"))
    }
}
