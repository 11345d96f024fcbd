public import GaiaCore

/// The container image of a function on the cluster: the function's files and Gaia's worker shim
/// in HTTP mode (`GAIA_HTTP_PORT`), on a CPU or a CUDA base image. `gaia kube render --out DIR`
/// writes the Dockerfiles beside a build context of `function/` (the files) and `gaia_worker.py`.
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
            if framework == "cupy" && variant == .cpu { continue }
            if !packages.contains(name) { packages.append(name) }
        }
        let torchIndex = variant == .cpu && packages.contains("torch") ? " --extra-index-url https://download.pytorch.org/whl/cpu" : ""
        var lines = [
            "# Gaia function image: \(m.name), \(variant.rawValue) variant (rendered by `gaia kube render`).",
            "# Build it from the folder `gaia kube render --out DIR` wrote:",
            "#   docker build -f DIR/Dockerfile.\(variant.rawValue) -t IMAGE DIR",
            "# mode \(m.mode.rawValue) (\(m.rationale.split(separator: "\n").first ?? ""))",
        ]
        switch variant {
        case .cpu:
            lines.append("FROM \(cpuBase)")
        case .gpu:
            lines += [
                "FROM \(gpuBase)",
                "RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip && rm -rf /var/lib/apt/lists/*",
            ]
        }
        lines += [
            "ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1",
            "RUN python3 -m pip install\(torchIndex) \(packages.joined(separator: " "))",
        ]
        if hasRequirements {
            lines += ["COPY function/requirements.txt /function/requirements.txt", "RUN python3 -m pip install -r /function/requirements.txt"]
        }
        lines += [
            "COPY gaia_worker.py /gaia/gaia_worker.py",
            "COPY function/ /function/",
            "ENV GAIA_FUNCTION_DIR=/function GAIA_ENTRY_POINT=\(m.entryPoint) GAIA_HANDLER=\(m.handler) GAIA_HTTP_PORT=\(port)",
            "# An unprivileged user: the function reads its code and writes only /tmp.",
            "USER 65532:65532",
            "EXPOSE \(port)",
            #"CMD ["python3", "/gaia/gaia_worker.py"]"#,
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
