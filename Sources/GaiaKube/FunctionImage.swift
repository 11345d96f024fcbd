public import GaiaCore

/// The container image of a function on the cluster: the function's files and Gaia's worker shim
/// in HTTP mode (`GAIA_HTTP_PORT`), on a CPU or a CUDA base image. `gaia kube render --out DIR`
/// writes the Dockerfiles beside a build context of `function/` (the files) and the shim (`gaia_worker.py`, `gaia_platforms.py`).
public enum FunctionImage {
    /// Base image of each variant.
    public static let cpuBase = "python:3.12-slim"
    public static let gpuBase = "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04"

    /// PyPI packages for the frameworks the analyzer found (import name → distribution).
    static let distributions = [
        "numpy": "numpy", "scipy": "scipy", "torch": "torch", "torchvision": "torchvision", "transformers": "transformers",
        "onnxruntime": "onnxruntime", "sklearn": "scikit-learn", "tensorflow": "tensorflow", "jax": "jax", "cupy": "cupy-cuda12x",
        "PIL": "pillow", "pandas": "pandas", "sentence_transformers": "sentence-transformers", "accelerate": "accelerate",
    ]

    /// The Dockerfile of one variant. `hasRequirements`: the function brings a requirements.txt
    /// (installed after the frameworks it imports).
    public static func dockerfile(for m: FunctionManifest, variant: Variant, hasRequirements: Bool, port: Int = 8080) -> String {
        var packages = ["numpy"]
        for framework in m.frameworks {
            guard let name = distributions[framework] else { continue }
            if !packages.contains(name) { packages.append(name) }
        }
        var lines = [
            "# Gaia function image: \(m.name), \(variant.rawValue) variant (rendered by `gaia kube render`).",
            "# Build it from the folder `gaia kube render --out DIR` wrote:",
            "#   docker build -f DIR/Dockerfile.\(variant.rawValue) -t IMAGE DIR",
            "# mode \(m.mode.rawValue) (\(m.rationale.split(separator: "\n").first ?? ""))",
        ]
        lines += base(variant, packages: packages)
        if hasRequirements {
            lines += ["COPY function/requirements.txt /function/requirements.txt", "RUN python3 -m pip install -r /function/requirements.txt"]
        }
        lines += [
            "COPY gaia_worker.py gaia_platforms.py /gaia/",
            "COPY function/ /function/",
            "ENV GAIA_FUNCTION_DIR=/function GAIA_ENTRY_POINT=\(m.entryPoint) GAIA_HANDLER=\(m.handler) GAIA_CONVENTION=\(m.handlerConvention) GAIA_HTTP_PORT=\(port)",
        ]
        return (lines + tail(port: port)).joined(separator: "\n") + "\n"
    }

    /// The runtime image of one variant for `gaia serve --cluster`: the shim and `packages` (PyPI
    /// names), no function; each function's files are mounted from its ConfigMap at `/function`.
    public static func runtimeDockerfile(variant: Variant, packages: [String], port: Int = 8080) -> String {
        var lines = [
            "# Gaia runtime image, \(variant.rawValue) variant (rendered by `gaia kube runtime-image`), for `gaia serve --cluster`:",
            "# every function runs on it, its files mounted from a ConfigMap at /function.",
            "#   docker build -f DIR/Dockerfile.\(variant.rawValue) -t IMAGE DIR",
        ]
        lines += base(variant, packages: packages.isEmpty ? ["numpy"] : packages)
        lines += ["COPY gaia_worker.py gaia_platforms.py /gaia/", "ENV GAIA_FUNCTION_DIR=/function GAIA_HTTP_PORT=\(port)"]
        return (lines + tail(port: port)).joined(separator: "\n") + "\n"
    }

    /// The base image and the packages of a variant (torch from PyTorch's CPU index on CPU; no CuPy there).
    static func base(_ variant: Variant, packages: [String]) -> [String] {
        let packages = variant == .cpu ? packages.filter { !$0.hasPrefix("cupy") } : packages
        let torchIndex = variant == .cpu && packages.contains("torch") ? " --extra-index-url https://download.pytorch.org/whl/cpu" : ""
        var lines: [String]
        switch variant {
        case .cpu:
            lines = ["FROM \(cpuBase)"]
        case .gpu:
            lines = [
                "FROM \(gpuBase)",
                "RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip && rm -rf /var/lib/apt/lists/*",
            ]
        }
        return lines + [
            "ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1",
            "RUN python3 -m pip install\(torchIndex) \(packages.joined(separator: " "))",
        ]
    }

    static func tail(port: Int) -> [String] {
        [
            "# An unprivileged user: the function reads its code and writes only /tmp.",
            "USER 65532:65532",
            "EXPOSE \(port)",
            #"CMD ["python3", "/gaia/gaia_worker.py"]"#,
        ]
    }
}
