/// What kind of fact about the source a piece of evidence records.
public enum EvidenceKind: String, Codable, Sendable, CaseIterable {
    /// A deep-learning or GPU framework is imported.
    case frameworkImport = "framework_import"
    /// Work is placed on a GPU unconditionally (`.cuda()`, `device="cuda"`, cupy, `@cuda.jit`…).
    case explicitGPU = "explicit_gpu"
    /// Work goes to a GPU only when one is available (`"cuda" if torch.cuda.is_available() else "cpu"`).
    case optionalGPU = "optional_gpu"
    /// A model is loaded or built (`from_pretrained`, `torchvision.models.resnet18`, `InferenceSession`…).
    case modelLoad = "model_load"
    /// Tensor arithmetic: matmul, convolution, einsum, layers, model forward calls.
    case tensorWork = "tensor_work"
    /// Autoregressive generation (`generate`), typically long and GPU-bound.
    case generation
    /// Tensor work repeated in a loop.
    case tensorLoop = "tensor_loop"
    /// Numeric work that only runs on a CPU (numpy, scipy).
    case cpuCompute = "cpu_compute"
    /// A CPU-leaning ML library (scikit-learn, CPU xgboost, lightgbm).
    case cpuFramework = "cpu_framework"
    /// Waiting or I/O with no compute (`time.sleep`, HTTP requests, files, sockets).
    case idleIO = "idle_io"
    /// Asks whether a GPU is there (`torch.cuda.is_available()`) or picks a device by it: no
    /// evidence for the GPU by itself, only where work is then placed on the device.
    case gpuCheck = "gpu_check"
    /// Work goes to a GPU by the framework's own default, with no device in the code (TensorFlow,
    /// Keras and JAX on a visible GPU, `transformers.pipeline`, SentenceTransformer, Whisper…).
    case defaultGPU = "default_gpu"
    /// Work is pinned to the CPU (`device="cpu"`, `.to(torch.device("cpu"))`, `n_gpu_layers=0`,
    /// `gpu=False`, an onnxruntime session with only the CPU provider).
    case cpuPin = "cpu_pin"
    /// A GPU asked for in another platform's decorator or server settings (`gpu="A10G"`,
    /// `num_gpus=1`, `resources={"gpu": 1}`, `accelerator="gpu"`): a hint, weighing nothing; what
    /// the code does with its tensors decides.
    case platformHint = "platform_hint"
}

/// One fact found in the source, where it is, and how much it weighs in the decision.
public struct Evidence: Codable, Sendable, Hashable {
    /// What kind of fact it is.
    public var kind: EvidenceKind
    /// The file, relative to the function's root.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// What was found, for a person: "calls .cuda() on model".
    public var detail: String
    /// How strongly it pulls the decision, 0...1.
    public var weight: Double

    /// Creates evidence.
    public init(kind: EvidenceKind, file: String, line: Int, detail: String, weight: Double) {
        self.kind = kind
        self.file = file
        self.line = line
        self.detail = detail
        self.weight = weight
    }

    /// `file:line`.
    public var location: String { "\(file):\(line)" }
}
