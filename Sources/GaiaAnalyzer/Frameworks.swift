/// What a framework means for placement.
enum FrameworkClass: Sendable {
    /// Needs a GPU to run at all (cupy, tensorrt, triton, vllm, pycuda).
    case gpuOnly
    /// Runs on CPU or GPU; heavy work benefits from a GPU (torch, tensorflow, jax, transformers…).
    case deepLearning
    /// Machine learning that leans on the CPU (scikit-learn, xgboost, lightgbm).
    case cpuML
    /// Numeric work that only runs on the CPU (numpy, scipy, pandas).
    case cpuNumeric
    /// Network, files and waiting.
    case io
}

/// Known Python frameworks, by top-level module name.
enum Frameworks {
    static let table: [String: FrameworkClass] = [
        "cupy": .gpuOnly, "cupyx": .gpuOnly, "tensorrt": .gpuOnly, "triton": .gpuOnly, "vllm": .gpuOnly,
        "pycuda": .gpuOnly, "cudf": .gpuOnly, "cuml": .gpuOnly, "flash_attn": .gpuOnly, "bitsandbytes": .gpuOnly,
        "tensorrt_llm": .gpuOnly, "torch_tensorrt": .gpuOnly, "whisper_trt": .gpuOnly,
        "torch": .deepLearning, "torchvision": .deepLearning, "torchaudio": .deepLearning,
        "tensorflow": .deepLearning, "keras": .deepLearning, "tf_keras": .deepLearning,
        "jax": .deepLearning, "jaxlib": .deepLearning, "flax": .deepLearning, "optax": .deepLearning,
        "onnxruntime": .deepLearning, "transformers": .deepLearning, "diffusers": .deepLearning,
        "sentence_transformers": .deepLearning, "ultralytics": .deepLearning, "timm": .deepLearning,
        "llama_cpp": .deepLearning, "ctransformers": .deepLearning, "accelerate": .deepLearning, "optimum": .deepLearning,
        "whisper": .deepLearning, "faster_whisper": .deepLearning, "ctranslate2": .deepLearning,
        "easyocr": .deepLearning, "paddle": .deepLearning, "mxnet": .deepLearning, "open_clip": .deepLearning,
        "sklearn": .cpuML, "xgboost": .cpuML, "lightgbm": .cpuML, "catboost": .cpuML, "statsmodels": .cpuML,
        "joblib": .cpuML,
        "numpy": .cpuNumeric, "scipy": .cpuNumeric, "pandas": .cpuNumeric, "numba": .cpuNumeric,
        "polars": .cpuNumeric, "PIL": .cpuNumeric, "cv2": .cpuNumeric, "librosa": .cpuNumeric,
        "soundfile": .cpuNumeric, "skimage": .cpuNumeric, "numexpr": .cpuNumeric,
        "requests": .io, "httpx": .io, "aiohttp": .io, "urllib": .io, "urllib3": .io, "socket": .io,
        "boto3": .io, "botocore": .io, "smtplib": .io, "sqlite3": .io, "psycopg2": .io, "redis": .io,
        "asyncio": .io, "subprocess": .io, "ftplib": .io, "http": .io,
    ]

    /// Frameworks that put work on a visible GPU by default, with no device in the code (TensorFlow
    /// and JAX place every op there; these libraries pick CUDA when it is available). Torch,
    /// transformers models, diffusers, timm, llama.cpp, ctransformers and onnxruntime keep work on
    /// the CPU unless told otherwise.
    static let gpuByDefault: Set<String> = [
        "tensorflow", "keras", "tf_keras", "jax", "jaxlib", "flax", "sentence_transformers", "ultralytics", "whisper",
        "faster_whisper", "easyocr", "paddle",
    ]

    static func classify(_ module: String) -> FrameworkClass? {
        table[String(module.split(separator: ".").first ?? "")]
    }

    static func root(_ module: String) -> String { String(module.split(separator: ".").first ?? "") }
}

/// What the analyzer knows of a model from its name: size, cost of one forward pass, and kind.
struct ModelInfo: Sendable, Hashable {
    enum Kind: Sendable { case vision, lightVision, text, llm, diffusion, detector, audio, unknown }
    var name: String
    var parameters: Double?
    var flops: Double?
    var kind: Kind

    /// Whether one invocation is heavy enough that a GPU is the better start.
    var isHeavy: Bool {
        switch kind {
        case .llm, .diffusion, .vision, .detector: return true
        case .lightVision: return false
        default: return (parameters ?? 0) >= 50e6 || (flops ?? 0) >= 5e9
        }
    }

    /// Well-known architectures: parameters and forward-pass FLOPs (one 224×224 image, or 128 tokens).
    static let catalog: [(pattern: String, parameters: Double, flops: Double, kind: Kind)] = [
        ("resnet18", 11.7e6, 3.6e9, .vision), ("resnet34", 21.8e6, 7.3e9, .vision),
        ("resnet50", 25.6e6, 8.2e9, .vision), ("resnet101", 44.5e6, 15.6e9, .vision),
        ("resnet152", 60.2e6, 23e9, .vision), ("vgg16", 138e6, 31e9, .vision), ("vgg19", 144e6, 39e9, .vision),
        ("densenet", 8e6, 5.7e9, .vision), ("convnext", 28.6e6, 9e9, .vision), ("vit", 86e6, 35e9, .vision),
        ("efficientnet", 5.3e6, 0.8e9, .lightVision), ("mobilenet", 3.5e6, 0.6e9, .lightVision),
        ("squeezenet", 1.2e6, 0.7e9, .lightVision), ("shufflenet", 2.3e6, 0.3e9, .lightVision),
        ("mnasnet", 4.4e6, 0.6e9, .lightVision), ("alexnet", 61e6, 1.4e9, .vision),
        ("yolo", 11e6, 28e9, .detector), ("detr", 41e6, 86e9, .detector), ("fasterrcnn", 41e6, 134e9, .detector),
        ("maskrcnn", 44e6, 134e9, .detector), ("unet", 31e6, 50e9, .vision), ("clip", 150e6, 10e9, .vision),
        ("minilm", 22.7e6, 2.9e9, .text), ("bert-tiny", 4.4e6, 0.6e9, .text), ("distilbert", 66e6, 11e9, .text),
        ("bert-large", 340e6, 80e9, .text), ("bert", 110e6, 22e9, .text), ("roberta", 125e6, 22e9, .text),
        ("mpnet", 110e6, 22e9, .text), ("albert", 12e6, 22e9, .text), ("electra-small", 14e6, 1.8e9, .text),
        ("t5-small", 60e6, 8e9, .llm), ("t5", 220e6, 28e9, .llm), ("bart", 140e6, 18e9, .llm),
        ("gpt2", 124e6, 32e9, .llm), ("opt-", 125e6, 32e9, .llm), ("tinyllama", 1.1e9, 280e9, .llm),
        ("llama", 7e9, 1.8e12, .llm), ("mistral", 7e9, 1.8e12, .llm), ("phi", 2.7e9, 700e9, .llm),
        ("qwen", 1.8e9, 460e9, .llm), ("gemma", 2e9, 500e9, .llm), ("falcon", 7e9, 1.8e12, .llm),
        ("stable-diffusion", 1e9, 3e12, .diffusion), ("sdxl", 3.5e9, 6e12, .diffusion),
        ("whisper-tiny", 39e6, 5e9, .audio), ("whisper-base", 74e6, 10e9, .audio),
        ("whisper", 244e6, 40e9, .audio), ("wav2vec", 95e6, 20e9, .audio),
    ]

    /// Looks a model up by name (a hub id such as "TinyLlama/TinyLlama-1.1B-Chat" or an arch such as
    /// "resnet18"); a size written in the name ("1.1B", "350m") overrides the catalog's.
    static func named(_ name: String, defaultKind: Kind = .unknown) -> ModelInfo {
        let lower = name.lowercased()
        var info = ModelInfo(name: name, parameters: nil, flops: nil, kind: defaultKind)
        if let entry = catalog.first(where: { lower.contains($0.pattern) }) {
            info.parameters = entry.parameters
            info.flops = entry.flops
            if defaultKind == .unknown || defaultKind == .text || entry.kind == .llm { info.kind = entry.kind }
        }
        if let size = sizeInName(lower) {
            info.parameters = size
            if info.kind == .llm || defaultKind == .llm { info.flops = size * 256 }
        }
        return info
    }

    /// A parameter count written in a model name: "1.1b" → 1.1e9, "350m" → 3.5e8.
    static func sizeInName(_ lower: String) -> Double? {
        let chars = Array(lower)
        var i = 0
        while i < chars.count {
            if chars[i].isNumber && (i == 0 || !chars[i - 1].isLetter) {
                var j = i
                while j < chars.count && (chars[j].isNumber || chars[j] == ".") { j += 1 }
                if j < chars.count, chars[j] == "b" || chars[j] == "m",
                    j + 1 == chars.count || !chars[j + 1].isLetter,
                    let value = Double(String(chars[i..<j]))
                {
                    return value * (chars[j] == "b" ? 1e9 : 1e6)
                }
                i = j
            }
            i += 1
        }
        return nil
    }
}
