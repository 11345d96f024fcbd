import Foundation
import PythonSyntax

extension SourceWalker {
    /// What an expression evaluates to, as far as literals, names bound to literals, simple
    /// arithmetic and known library calls tell (`N = 4096; torch.randn(N, N)` → a 4096×4096 tensor).
    func evaluate(_ e: Expr) -> Value {
        switch e.kind {
        case .constant(let c, _):
            switch c {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return Double(exactly: i).map { .number($0) } ?? .number(Double(i.description) ?? 0)
            case .float(let d): return .number(d)
            case .str(let s): return .string(s.description)
            default: return .unknown
            }
        case .name(let id, _):
            return lookup(id) ?? .unknown
        case .attribute(let value, let attr, _):
            if let q = qualified(e) { return .module(q) }
            if let device = attributes[attr] { return device }
            // Gaia's `context.device`: "cuda:0" on a GPU rung, "cpu" elsewhere.
            if attr == "device", case .name("context", _) = value.kind { return .device(.optional) }
            if case .tensor(let fw, let shape) = evaluate(value), attr == "T" {
                return .tensor(framework: fw, shape: shape.map { Array($0.reversed()) })
            }
            return .unknown
        case .tuple(let elts, _), .list(let elts, _):
            return .tuple(elts.map(evaluate))
        case .unaryOp(.uSub, let operand):
            return evaluate(operand).number.map { .number(-$0) } ?? .unknown
        case .unaryOp(.not, let operand):
            return evaluate(operand).truthiness.map { .bool(!$0) } ?? .unknown
        case .binOp(let left, let op, let right):
            return arithmetic(evaluate(left), op, evaluate(right))
        case .ifExp(let test, let body, let orelse):
            let a = evaluate(body)
            let b = evaluate(orelse)
            let kinds = [a.deviceKind, b.deviceKind]
            if kinds.contains(.gpu) && kinds.contains(.cpu) { return .device(.optional) }
            if let truth = evaluate(test).truthiness { return truth ? a : b }
            // For estimates, a branch that is a known number stands for the other (the larger of two).
            if let x = a.number, let y = b.number { return .number(max(x, y)) }
            if case .unknown = a, b.number != nil { return b }
            if case .unknown = b, a.number != nil { return a }
            return .unknown
        case .boolOp(.or, let values):
            // `os.environ.get("DEVICE") or "cuda"`: the literal fallback is what we know.
            return values.map(evaluate).last { if case .unknown = $0 { return false } else { return true } } ?? .unknown
        case .subscript(let value, _, _):
            let v = evaluate(value)
            if case .device = v { return v }
            if case .tuple(let items) = v, let first = items.first, first.deviceKind != nil { return first }
            return .unknown
        case .call(let fn, let args, let keywords):
            return evaluateCall(fn, args, keywords)
        default:
            return .unknown
        }
    }

    private func arithmetic(_ a: Value, _ op: Operator, _ b: Value) -> Value {
        if let x = a.number, let y = b.number {
            switch op {
            case .add: return .number(x + y)
            case .sub: return .number(x - y)
            case .mult: return .number(x * y)
            case .div: return y == 0 ? .unknown : .number(x / y)
            case .floorDiv: return y == 0 ? .unknown : .number((x / y).rounded(.down))
            case .pow: return .number(pow(x, y))
            case .lShift: return .number(x * pow(2, y))
            case .mod: return y == 0 ? .unknown : .number(x.truncatingRemainder(dividingBy: y))
            default: return .unknown
            }
        }
        if case .string(let s) = a, case .string(let t) = b, op == .add { return .string(s + t) }
        if case .tensor(let fw, let sa) = a {
            if op == .matMult, case .tensor(_, let sb) = b, let sa, let sb, matmulFlops(sa, sb) != nil {
                return .tensor(framework: fw, shape: Array(sa.dropLast()) + [sb[sb.count - 1]])
            }
            return .tensor(framework: fw, shape: op == .matMult ? nil : sa)
        }
        if case .tensor(let fw, let sb) = b { return .tensor(framework: fw, shape: op == .matMult ? nil : sb) }
        return .unknown
    }

    /// What a call's function expression names: its qualified name where it resolves, and for
    /// `x.m(...)` the method name and receiver.
    func callee(_ fn: Expr) -> (q: String?, method: String?, receiver: Expr?) {
        if case .attribute(let value, let attr, _) = fn.kind { return (qualified(fn), attr, value) }
        return (qualified(fn), nil, nil)
    }

    private func evaluateCall(_ fn: Expr, _ args: [Expr], _ keywords: [Keyword]) -> Value {
        let (q, method, receiver) = callee(fn)
        switch q {
        case "builtins.int", "builtins.float":
            return args.first.map { evaluate($0).number.map(Value.number) ?? .unknown } ?? .number(0)
        case "builtins.str":
            return args.first.map(evaluate) ?? .string("")
        case "os.getenv", "os.environ.get":
            return args.count >= 2 ? evaluate(args[1]) : .unknown
        case "importlib.import_module", "builtins.__import__":
            return args.first.flatMap { evaluate($0).string }.map(Value.module) ?? .unknown
        case "torch.device", "tensorflow.device":
            guard let arg = args.first else { return .unknown }
            let kind = evaluate(arg).deviceKind
            return kind.map(Value.device) ?? .unknown
        case "jax.devices":
            if let kind = args.first.flatMap({ evaluate($0).deviceKind }) { return .tuple([.device(kind)]) }
            return .unknown
        default:
            break
        }
        if method == "get", args.count == 2 { return evaluate(args[1]) }
        if let (info, framework) = modelLoad(q: q, method: method, receiver: receiver, args: args, keywords: keywords) {
            return .model(info, framework: framework)
        }
        if let (framework, shape) = tensorConstructor(q: q, method: method, args: args, keywords: keywords) {
            return .tensor(framework: framework, shape: shape)
        }
        if case .modelClass(let info, let framework) = evaluate(fn) {
            return .model(info, framework: framework)  // `model = Net()`
        }
        if let receiver, let method, ["to", "cuda", "cpu", "eval", "half", "float", "bfloat16", "train", "requires_grad_"].contains(method) {
            let base = evaluate(receiver)
            switch base {
            case .model, .tensor: return base
            default: break
            }
        }
        return .unknown
    }

    /// A call that creates an array or tensor: its framework and shape (nil when not literal).
    func tensorConstructor(q: String?, method: String?, args: [Expr], keywords: [Keyword]) -> (String, [Double]?)? {
        let constructors: Set<String> = ["randn", "rand", "zeros", "ones", "empty", "full", "randint", "normal",
                                         "uniform", "standard_normal", "random", "eye", "random_sample", "integers",
                                         "truncated_normal", "randn_like", "zeros_like", "ones_like"]
        let last = q.map { String($0.split(separator: ".").last ?? "") } ?? method ?? ""
        guard constructors.contains(last) else { return nil }
        var framework: String
        if let q, let cls = Frameworks.classify(q), cls == .deepLearning || cls == .gpuOnly || cls == .cpuNumeric {
            framework = Frameworks.root(q)
        } else if q == nil, method != nil, frameworks.contains("numpy") {
            framework = "numpy"  // a numpy Generator: rng.standard_normal((n, n))
        } else {
            return nil
        }
        if framework == "tensorflow" || framework == "keras" { framework = "tensorflow" }
        var shapeArgs = args
        if framework == "jax", shapeArgs.count >= 2 { shapeArgs = Array(shapeArgs.dropFirst()) }  // jax.random.normal(key, shape)
        if last == "randint", shapeArgs.count >= 3 { shapeArgs = [shapeArgs[2]] }
        if last == "full", !shapeArgs.isEmpty { shapeArgs = [shapeArgs[0]] }
        if let sizeKeyword = keywords.first(where: { ["size", "shape"].contains($0.arg ?? "") }) {
            return (framework, evaluate(sizeKeyword.value).shape)
        }
        if shapeArgs.count == 1 { return (framework, evaluate(shapeArgs[0]).shape) }
        let numbers = shapeArgs.compactMap { evaluate($0).number }
        return (framework, numbers.count == shapeArgs.count && !numbers.isEmpty ? numbers : nil)
    }

    /// A call that loads or builds a model: what is known of it and its framework.
    func modelLoad(q: String?, method: String?, receiver: Expr?, args: [Expr], keywords: [Keyword]) -> (ModelInfo, String)? {
        func firstString() -> String? {
            args.first.flatMap { evaluate($0).string }
                ?? keywords.first { ["model", "model_name_or_path", "pretrained_model_name_or_path", "model_path", "path_or_fileobj", "path"].contains($0.arg ?? "") }
                .flatMap { evaluate($0.value).string }
        }
        if method == "from_pretrained" {
            let owner = receiver.flatMap { qualified($0) } ?? ""
            let framework = Frameworks.classify(owner) != nil ? Frameworks.root(owner)
                : (frameworks.contains("transformers") ? "transformers" : frameworks.contains("diffusers") ? "diffusers" : "")
            guard !framework.isEmpty else { return nil }
            let className = String(owner.split(separator: ".").last ?? "")
            let kind: ModelInfo.Kind
            if ["CausalLM", "LMHead", "Seq2SeqLM", "ConditionalGeneration"].contains(where: className.contains) {
                kind = .llm
            } else if className.contains("Pipeline") || className.contains("Diffusion") || className.contains("UNet") {
                kind = .diffusion
            } else if className.contains("Image") || className.contains("ViT") || className.contains("Vision") {
                kind = .vision
            } else if className.contains("Speech") || className.contains("Whisper") || className.contains("Audio") {
                kind = .audio
            } else if className.contains("Tokenizer") || className.contains("Processor") || className.contains("Config")
                || className.contains("FeatureExtractor")
            {
                return nil
            } else {
                kind = .text
            }
            return (ModelInfo.named(firstString() ?? className, defaultKind: kind), framework)
        }
        guard let q else { return nil }
        let root = Frameworks.root(q)
        let last = String(q.split(separator: ".").last ?? "")
        if (q.hasPrefix("tensorflow.keras.applications.") || q.hasPrefix("keras.applications."))
            && last.first?.isUppercase == true
        {
            return (ModelInfo.named(last.lowercased(), defaultKind: .vision), "tensorflow")
        }
        if q.hasPrefix("torchvision.models.") && last.first?.isLowercase == true && !["get_model_weights", "list_models"].contains(last) {
            if last == "get_model", let name = firstString() { return (ModelInfo.named(name, defaultKind: .vision), "torchvision") }
            return (ModelInfo.named(last, defaultKind: .vision), "torchvision")
        }
        switch q {
        case "torch.hub.load":
            let name = args.count >= 2 ? evaluate(args[1]).string ?? "hub model" : "hub model"
            return (ModelInfo.named(name), "torch")
        case "timm.create_model":
            return (ModelInfo.named(firstString() ?? "timm model", defaultKind: .vision), "timm")
        case "torch.load", "torch.jit.load", "tensorflow.keras.models.load_model", "keras.models.load_model",
            "keras.saving.load_model", "tensorflow.saved_model.load", "onnxruntime.InferenceSession",
            "tensorflow.lite.Interpreter", "ctranslate2.Generator", "ctranslate2.Translator":
            let name = firstString() ?? last
            return (ModelInfo.named(name), root == "keras" ? "tensorflow" : root)
        case "sentence_transformers.SentenceTransformer", "sentence_transformers.CrossEncoder":
            return (ModelInfo.named(firstString() ?? "sentence-transformer", defaultKind: .text), root)
        case "transformers.pipeline":
            let task = args.first.flatMap { evaluate($0).string } ?? keywords.first { $0.arg == "task" }.flatMap { evaluate($0.value).string } ?? ""
            let model = keywords.first { $0.arg == "model" }.flatMap { evaluate($0.value).string }
            let kind: ModelInfo.Kind =
                ["text-generation", "text2text-generation", "summarization", "translation", "conversational"].contains(where: task.hasPrefix)
                ? .llm
                : task.contains("image") || task.contains("object-detection") ? .vision
                : task.contains("speech") || task.contains("audio") ? .audio : .text
            return (ModelInfo.named(model ?? task, defaultKind: kind), root)
        case "ultralytics.YOLO", "ultralytics.RTDETR":
            return (ModelInfo.named(firstString() ?? "yolo", defaultKind: .detector), root)
        case "llama_cpp.Llama", "vllm.LLM":
            return (ModelInfo.named(firstString() ?? "llm", defaultKind: .llm), root)
        case "whisper.load_model", "faster_whisper.WhisperModel":
            return (ModelInfo.named("whisper-" + (firstString() ?? "base"), defaultKind: .audio), root)
        case "easyocr.Reader":
            return (ModelInfo(name: "easyocr", parameters: 20e6, flops: 10e9, kind: .vision), root)
        case "joblib.load", "pickle.load", "xgboost.Booster", "lightgbm.Booster":
            return (ModelInfo.named(firstString() ?? last), root == "pickle" ? "sklearn" : root)
        default:
            return nil
        }
    }
}

/// FLOPs of a matrix product of two shapes (2·m·k·n over the last two axes), if both are matrices.
func matmulFlops(_ a: [Double], _ b: [Double]) -> Double? {
    guard a.count >= 2, b.count >= 2 else { return nil }
    return 2 * a[a.count - 2] * a[a.count - 1] * b[b.count - 1]
}
