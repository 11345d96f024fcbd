import GaiaCore

/// The decision procedure from evidence to an execution mode, with a confidence and a rationale.
///
/// The first rule that applies decides:
/// 1. **gpu** — work is placed on a GPU unconditionally (`.cuda()`, `.to("cuda")`, `device="cuda"`,
///    `tf.device("/GPU:0")`, a GPU-only library such as cupy, `@cuda.jit`…). The code would fail
///    or misbehave without a GPU.
/// 2. **cpu** — the code pins its model to the CPU (an onnxruntime session with only
///    `CPUExecutionProvider`), so a GPU rung could not help.
/// 3. **cpu_preferred** — heavy work (below) that nothing puts on a GPU: no device in the code,
///    and a framework that keeps work on the CPU by default (torch, transformers models, diffusers,
///    llama.cpp…). A GPU rung would not speed it up; the rationale says how to use one.
/// 4. **gpu_preferred** — a GPU-capable framework does real work (loads or runs a model, tensor
///    arithmetic) and the work is heavy (generation, a large or convolutional model, ≥ 1 GFLOP in
///    one operation, ≥ 1M-element tensors, tensor work in a loop) and reaches a GPU when there is
///    one (the code picks it, or the framework does by default: TensorFlow, Keras, JAX,
///    `transformers.pipeline`, SentenceTransformer, Whisper…); or the code places light work on an
///    available GPU.
/// 5. **cpu_preferred** — a GPU-capable framework does light work (a small model such as MiniLM,
///    small tensors), or is imported with no work seen: start on CPU, climb if the SLO says so.
///    Asking whether a GPU is there (`torch.cuda.is_available()`) places nothing and counts for
///    nothing.
/// 6. **cpu** — nothing can use a GPU: plain Python, I/O and waiting, numpy/scipy, scikit-learn.
///
/// Confidence falls when the evidence is thin or mixed, and by 30% when the tree is partial.
struct ModeDecision {
    var mode: ExecutionMode
    var confidence: Double
    var rationale: String

    static func decide(walker: SourceWalker, hints: [Evidence] = [], partial: Bool) -> ModeDecision {
        let evidence = walker.evidence
        func of(_ kinds: EvidenceKind...) -> [Evidence] { evidence.filter { kinds.contains($0.kind) } }
        let explicit = of(.explicitGPU)
        let optional = of(.optionalGPU)
        let byDefault = of(.defaultGPU)
        let work = of(.modelLoad, .generation, .tensorWork, .tensorLoop)
        let deepLearning = walker.frameworks.filter { [.deepLearning, .gpuOnly].contains(Frameworks.classify($0)) }.sorted()

        var decision: ModeDecision
        if !explicit.isEmpty {
            decision = ModeDecision(
                mode: .gpu, confidence: optional.isEmpty ? 0.95 : 0.85,
                rationale: "explicitly places work on a GPU: " + cite(explicit) + (work.isEmpty ? "" : "; " + cite(work, limit: 1)))
        } else if !walker.cpuPins.isEmpty && optional.isEmpty {
            decision = ModeDecision(
                mode: .cpu, confidence: 0.85,
                rationale: "pins its work to the CPU: " + cite(walker.cpuPins) + (work.isEmpty ? "" : "; " + cite(work, limit: 1)))
        } else if !work.isEmpty && !walker.heavy.isEmpty && optional.isEmpty && byDefault.isEmpty {
            decision = ModeDecision(
                mode: .cpuPreferred, confidence: 0.7,
                rationale: "\(deepLearning.joined(separator: ", ")) work that a GPU would speed up: " + cite(walker.heavy, limit: 2)
                    + "; but nothing puts it on a GPU (no .to(device), .cuda() or device=, and "
                    + "\(deepLearning.joined(separator: ", ")) keeps work on the CPU by default), so a GPU rung would not help; "
                    + "move the model and inputs to context.device to use one")
        } else if !work.isEmpty && (!walker.heavy.isEmpty || !optional.isEmpty) {
            let reasons = walker.heavy.isEmpty ? cite(work, limit: 2) : cite(walker.heavy, limit: 2)
            let device = !optional.isEmpty ? "; uses the GPU when available (\(optional[0].location))"
                : "; \(byDefault[0].detail) (\(byDefault[0].location))"
            decision = ModeDecision(
                mode: .gpuPreferred, confidence: walker.heavy.isEmpty ? 0.75 : 0.85,
                rationale: "\(deepLearning.joined(separator: ", ")) work that benefits from a GPU: " + reasons + device)
        } else if !work.isEmpty {
            decision = ModeDecision(
                mode: .cpuPreferred, confidence: 0.75,
                rationale: "light \(deepLearning.joined(separator: ", ")) work: " + cite(work, limit: 2)
                    + "; small enough to start on CPU")
        } else if !deepLearning.isEmpty {
            decision = ModeDecision(
                mode: optional.isEmpty ? .cpuPreferred : .gpuPreferred, confidence: 0.6,
                rationale: "imports \(deepLearning.joined(separator: ", ")) (\(of(.frameworkImport).first?.location ?? "?")) "
                    + "but no model or tensor work was found" + (optional.isEmpty ? "" : "; checks for a GPU (\(optional[0].location))"))
        } else {
            let cpuSide = of(.cpuCompute, .cpuFramework, .idleIO)
            let why = cpuSide.isEmpty ? "no GPU-capable framework or tensor work" : cite(cpuSide, limit: 2)
            let note = cpuSide.contains { $0.kind == .cpuCompute } ? "; numpy/scipy cannot use a GPU" : ""
            decision = ModeDecision(mode: .cpu, confidence: cpuSide.isEmpty ? 0.9 : 0.95, rationale: why + note)
        }
        // A platform's request for a GPU is a hint: the code decides, and the rationale says so.
        if let hint = hints.first {
            let where_ = "\(hint.detail) (\(hint.location))"
            decision.rationale += decision.mode.mayUseGPU && decision.mode != .cpuPreferred
                ? "; the platform's settings agree: \(where_)"
                : "; \(where_) is only a hint: this code never places its work on a GPU"
        }
        if partial {
            decision.confidence *= 0.7
            decision.rationale = "partial tree (syntax errors); " + decision.rationale
        }
        decision.confidence = (decision.confidence * 100).rounded() / 100
        decision.rationale = "\(decision.mode): " + decision.rationale
        return decision
    }

    /// "loads X (fn.py:12) and calls generate (fn.py:30)"
    private static func cite(_ items: [Evidence], limit: Int = 3) -> String {
        let shown = items.sorted { $0.weight > $1.weight }.prefix(limit).map { "\($0.detail) (\($0.location))" }
        let more = items.count > limit ? " and \(items.count - limit) more" : ""
        return shown.joined(separator: ", ") + more
    }
}
