/// How much work one invocation is expected to do, estimated from the source alone.
public struct WorkEstimate: Codable, Sendable, Hashable {
    /// Largest tensor or array created, in elements, where its shape is known.
    public var maxTensorElements: Double?
    /// Floating-point operations of the largest single operation found (matmul, layer, model).
    public var flops: Double?
    /// Parameters of the largest model loaded or built, where known.
    public var modelParameters: Double?
    /// Whether the function generates tokens autoregressively.
    public var generates: Bool
    /// Whether tensor work sits inside a loop.
    public var tensorWorkInLoop: Bool

    enum CodingKeys: String, CodingKey {
        case flops, generates
        case maxTensorElements = "max_tensor_elements"
        case modelParameters = "model_parameters"
        case tensorWorkInLoop = "tensor_work_in_loop"
    }

    /// Creates an estimate; everything unknown by default.
    public init(
        maxTensorElements: Double? = nil, flops: Double? = nil, modelParameters: Double? = nil,
        generates: Bool = false, tensorWorkInLoop: Bool = false
    ) {
        self.maxTensorElements = maxTensorElements
        self.flops = flops
        self.modelParameters = modelParameters
        self.generates = generates
        self.tensorWorkInLoop = tensorWorkInLoop
    }
}

extension WorkEstimate {
    /// GPU memory one instance is expected to need, MiB: a CUDA context and framework workspace
    /// (1 GiB) plus the model's float32 weights twice over (weights, activations and allocator
    /// slack). Bounds how many instances share a GPU.
    public var gpuMemoryMiB: Int {
        let weights = (modelParameters ?? 0) * 4 * 2 / 1_048_576
        return 1024 + Int(min(weights, 1e7).rounded(.up))
    }
}
