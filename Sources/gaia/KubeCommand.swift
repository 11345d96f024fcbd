import ArgumentParser
import Foundation
import GaiaAPI
import GaiaAnalyzer
import GaiaCore
import GaiaKube
import GaiaRuntime
import Yams

/// `gaia kube …`: Gaia on Kubernetes with Knative Serving.
struct KubeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube", abstract: "Gaia on Kubernetes + Knative: render a function's Services and image (see docs/CLUSTER.md).",
        subcommands: [KubeRenderCommand.self, KubeRuntimeImageCommand.self])
}

/// `gaia kube render PATH|NAME`.
struct KubeRenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print the Knative Services of a function: one per variant (CPU, GPU) its mode allows.",
        discussion: """
            PATH (a .py file or a folder) is analysed here; otherwise NAME is read from the Gaia server. With --out DIR \
            the Services (NAME-cpu.yaml, NAME-gpu.yaml), a Dockerfile per variant and the image's build context \
            (function/, gaia_worker.py, gaia_platforms.py) are written there instead.
            """)

    @Argument(help: "A function's folder or .py file, or the name of a deployed function.") var function: String
    @Option(name: .shortAndLong, help: "yaml or json.") var output: Format = .yaml
    @Option(help: "The namespace of the Services.") var namespace = "default"
    @Option(help: "The function's image (default gaia/NAME:rREVISION).") var image: String?
    @Option(help: "Cores of a CPU pod.") var cpuCores = 1
    @Option(help: "Host cores of a GPU pod.") var gpuHostCores = 2
    @Option(help: "Memory of a pod, MiB (default 1 GiB, more for a large model).") var memoryMib: Int?
    @Option(help: "The GPU's extended resource name.") var gpuResource = "nvidia.com/gpu"
    @Option(help: "Percent of a GPU's SMs a GPU pod may use through MPS (default: the whole GPU).") var smPercent: Int?
    @Option(help: "Force a mode (PATH only).") var mode: ExecutionMode?
    @Option(help: "Latency objective (PATH only), as gaia deploy --slo.") var slo: String?
    @Option(help: "Write the Services, Dockerfiles and the image's build context into this folder.") var out: String?
    @OptionGroup var server: ServerOptions

    enum Format: String, ExpressibleByArgument, CaseIterable { case yaml, json }

    func run() async throws {
        var options = KubeRenderOptions()
        options.namespace = namespace
        options.image = image
        options.cpuCores = cpuCores
        options.gpuHostCores = gpuHostCores
        options.memoryMiB = memoryMib
        options.gpuResource = gpuResource
        options.smPercent = smPercent
        let (manifest, revision, files) = try await load()
        let services: [KnativeService]
        do {
            services = try KnativeRenderer.services(for: manifest, revision: revision, options: options)
        } catch let error as KubeRenderError {
            throw CLIError(description: error.description)
        }
        let documents = try services.map(render)
        guard let out else {
            print(output == .yaml ? documents.joined(separator: "---\n") : "[\n" + documents.joined(separator: ",\n") + "\n]")
            return
        }
        try write(services: services, documents: documents, manifest: manifest, files: files, to: out)
    }

    func render(_ service: KnativeService) throws -> String {
        switch output {
        case .yaml:
            let encoder = YAMLEncoder()
            encoder.options.sortKeys = true
            return try encoder.encode(service)
        case .json: return String(decoding: try APICoding.encoder(pretty: true).encode(service), as: UTF8.self)
        }
    }

    /// The manifest, its revision and files: analysed here from a path, or read from the server.
    func load() async throws -> (FunctionManifest, Int, [String: [UInt8]]) {
        if FileManager.default.fileExists(atPath: function) {
            let source: FunctionSource
            do { source = try FunctionSource.load(path: function) } catch let error as AnalyzerError { throw CLIError(description: error.description) }
            var manifest = ExecutionModeAnalyzer().analyze(source, name: nil, override: mode)
            if let slo {
                do { manifest.slo = try SLO(parsing: slo) } catch { throw CLIError(description: "--slo: \(error)") }
            }
            return (manifest, 1, try DeployCommand.files(of: source, path: function))
        }
        guard mode == nil, slo == nil else {
            throw CLIError(description: "--mode and --slo apply to a PATH; for a deployed function change them with gaia update")
        }
        let description = try await server.get("/v1/functions/\(function)", as: FunctionDescription.self)
        let source = try await server.get("/v1/functions/\(function)/source", as: FunctionSourceFiles.self)
        return (description.manifest, description.revision, source.files.mapValues { Array($0.utf8) })
    }

    func write(services: [KnativeService], documents: [String], manifest: FunctionManifest, files: [String: [UInt8]], to out: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(out)/function", withIntermediateDirectories: true)
        for (service, document) in zip(services, documents) {
            try Data(document.utf8).write(to: URL(fileURLWithPath: "\(out)/\(service.metadata.name ?? "service").\(output.rawValue)"))
        }
        for variant in KnativeRenderer.variants(of: manifest) {
            let dockerfile = FunctionImage.dockerfile(for: manifest, variant: variant, hasRequirements: files["requirements.txt"] != nil)
            try Data(dockerfile.utf8).write(to: URL(fileURLWithPath: "\(out)/Dockerfile.\(variant)"))
        }
        for (path, bytes) in files {
            let target = "\(out)/function/\(path)"
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: target))
        }
        try WorkerShim.write(into: out)
        print("wrote \(services.count) Service(s), \(KnativeRenderer.variants(of: manifest).count) Dockerfile(s) and the build context to \(out)")
    }
}

/// `gaia kube runtime-image --out DIR`.
struct KubeRuntimeImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime-image",
        abstract: "Write the Dockerfiles of the runtime images gaia serve --cluster runs every function on.",
        discussion: """
            Writes Dockerfile.cpu, Dockerfile.gpu and the shim (gaia_worker.py, gaia_platforms.py) into DIR. Build and push both, then pass them to \
            gaia serve --cluster --cpu-image IMAGE --gpu-image IMAGE. Functions' files are mounted from ConfigMaps, \
            so deploys need no image build; the packages functions import must be in the image.
            """)

    @Option(help: "The folder to write into.") var out: String
    @Option(help: "PyPI packages the images install, comma-separated.") var packages = "numpy"

    func run() throws {
        let list = packages.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for variant in Variant.allCases {
            let text = FunctionImage.runtimeDockerfile(variant: variant, packages: list)
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(out)/Dockerfile.\(variant)"))
        }
        try WorkerShim.write(into: out)
        print("wrote Dockerfile.cpu, Dockerfile.gpu and the shim to \(out); build them with docker build -f \(out)/Dockerfile.cpu -t IMAGE \(out)")
    }
}
