import GaiaCore
import PythonSyntax

/// Walks a function's syntax trees, file by file, resolving names through imports and simple
/// constant propagation, and records the evidence the mode decision is made from.
struct SourceWalker {
    private(set) var evidence: [Evidence] = []
    private(set) var frameworks: Set<String> = []
    private(set) var work = WorkEstimate()
    /// Evidence that marks the work as heavy enough to start on a GPU.
    private(set) var heavy: [Evidence] = []
    private(set) var diagnostics: [String] = []
    /// Evidence that the code pins its work to the CPU (`device="cpu"`, `n_gpu_layers=0`, an
    /// onnxruntime session with CPU providers only…).
    private(set) var cpuPins: [Evidence] = []

    private let source: FunctionSource
    private var queue: [String] = []
    private var visited: Set<String> = []
    private var seen: Set<String> = []

    // Per-file state.
    private var file = ""
    private var lines = LineTable([])
    private var scopes: [[String: Value]] = [[:]]
    private var loopDepth = 0
    /// Inside `if torch.cuda.is_available():` and the like: GPU placement there is optional.
    private var guarded = 0
    /// Device values assigned to attributes (`self.device = "cuda"`), by attribute name.
    var attributes: [String: Value] = [:]
    /// Parameters of the file's functions, in order, by function name.
    private var parameters: [String: [String]] = [:]
    /// Device values the file's functions receive, from call sites: function → parameter → value.
    private var parameterDevices: [String: [String: Value]] = [:]
    /// A first pass over a file that only learns which devices reach which parameters; it records
    /// no evidence.
    private var scouting = false

    /// Top-level classes of the entry point that are not part of the function (other handlers of
    /// its platform that the deployed one never refers to): not walked.
    private let skippedClasses: Set<String>

    init(source: FunctionSource, skippedClasses: Set<String> = []) {
        self.source = source
        self.skippedClasses = skippedClasses
    }

    /// Evidence from outside the code's own statements (what a platform's machinery needs).
    mutating func record(_ kind: EvidenceKind, line: Int, _ detail: String, weight: Double) {
        evidence.append(Evidence(kind: kind, file: source.entryPoint, line: line, detail: detail, weight: weight))
    }

    /// Analyzes the entry point and every local module it imports, transitively, then the
    /// requirements file.
    mutating func run() {
        walkImports()
        if let requirements = source.requirements { read(requirements) }
    }

    /// A framework `requirements.txt` names that the code does not import is evidence as an import
    /// would be (the code may import it indirectly, or by name at run time); an unreadable file is
    /// the deploy's to refuse, not the analyzer's.
    private mutating func read(_ bytes: [UInt8]) {
        guard let requirements = try? Requirements(bytes) else { return }
        for line in requirements.lines {
            guard let project = line.project else { continue }
            let module = Requirements.module(of: project)
            guard let cls = Frameworks.classify(module), !frameworks.contains(module) else { continue }
            let detail = "requires \(project) (requirements.txt)"
            func note(_ kind: EvidenceKind, _ detail: String, _ weight: Double) {
                evidence.append(Evidence(kind: kind, file: "requirements.txt", line: line.number, detail: detail, weight: weight))
            }
            switch cls {
            case .gpuOnly: note(.explicitGPU, detail + ", which needs a GPU", 1.0)
            case .deepLearning:
                note(.frameworkImport, detail, 0.3)
                if Frameworks.gpuByDefault.contains(module) { note(.defaultGPU, "requires \(module), which puts work on a visible GPU by default", 0.5) }
            case .cpuML: note(.cpuFramework, detail, 0.4)
            case .cpuNumeric, .io: continue
            }
            frameworks.insert(module)
        }
    }

    private mutating func walkImports() {
        queue = [source.entryPoint]
        while let next = queue.first {
            queue.removeFirst()
            guard !visited.contains(next), let bytes = source.files[next] else { continue }
            visited.insert(next)
            var result = PythonParser.parse(bytes: bytes)
            diagnostics += result.diagnostics.map { $0.formatted(file: next, lines: result.lines) }
            if next == source.entryPoint && !skippedClasses.isEmpty {
                result.module.body.removeAll { if case .classDef(let c) = $0.kind { skippedClasses.contains(c.name) } else { false } }
            }
            file = next
            lines = result.lines
            scopes = [[:]]
            loopDepth = 0
            guarded = 0
            attributes = [:]
            parameters = [:]
            hoistImports(result.module.body)
            // Devices passed to the file's own functions are known only at their call sites, which
            // usually come after the definitions: a scouting pass on a copy learns them first.
            var scout = self
            scout.scouting = true
            scout.parameterDevices = [:]
            scout.walk(result.module.body)
            parameterDevices = scout.parameterDevices
            attributes = [:]
            parameters = [:]
            walk(result.module.body)
        }
    }

    // MARK: Evidence

    private mutating func add(_ kind: EvidenceKind, _ range: SourceRange, _ detail: String, weight: Double, heavy isHeavy: Bool = false) {
        guard !scouting else { return }
        var kind = kind
        var detail = detail
        var weight = weight
        if kind == .explicitGPU && guarded > 0 {
            kind = .optionalGPU
            detail += " (only when a GPU is available)"
            weight = 0.6
        }
        let line = lines.location(of: range).line
        let key = "\(kind.rawValue)|\(file)|\(line)|\(detail)"
        guard seen.insert(key).inserted else { return }
        let item = Evidence(kind: kind, file: file, line: line, detail: detail, weight: weight)
        evidence.append(item)
        if isHeavy { heavy.append(item) }
        if loopDepth > 0 && [.tensorWork, .generation].contains(kind) {
            work.tensorWorkInLoop = true
            let loop = Evidence(kind: .tensorLoop, file: file, line: line, detail: "\(detail) inside a loop", weight: 0.6)
            if seen.insert("loop|\(file)|\(line)").inserted {
                evidence.append(loop)
                heavy.append(loop)
            }
        }
    }

    /// Records that work is pinned to the CPU.
    private mutating func pin(_ range: SourceRange, _ detail: String) {
        guard !scouting else { return }
        let line = lines.location(of: range).line
        guard seen.insert("pin|\(file)|\(line)|\(detail)").inserted else { return }
        let item = Evidence(kind: .cpuPin, file: file, line: line, detail: detail, weight: 0.8)
        cpuPins.append(item)
        evidence.append(item)
    }

    private mutating func noteFlops(_ flops: Double) {
        work.flops = max(work.flops ?? 0, flops)
    }

    private mutating func noteModel(_ info: ModelInfo) {
        if let p = info.parameters { work.modelParameters = max(work.modelParameters ?? 0, p) }
        if let f = info.flops { noteFlops(f) }
    }

    private var usesDeepLearning: Bool {
        frameworks.contains { [.deepLearning, .gpuOnly].contains(Frameworks.classify($0)) }
    }

    // MARK: Scopes

    func lookup(_ name: String) -> Value? {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        return nil
    }

    private mutating func bind(_ name: String, _ value: Value) {
        scopes[scopes.count - 1][name] = value
    }

    private mutating func bind(target: Expr, _ value: Value) {
        switch target.kind {
        case .name(let id, _):
            bind(id, value)
        case .tuple(let elts, _), .list(let elts, _):
            if case .tuple(let values) = value, values.count == elts.count {
                for (e, v) in zip(elts, values) { bind(target: e, v) }
            } else {
                for e in elts { bind(target: e, .unknown) }
            }
        case .starred(let inner, _):
            bind(target: inner, .unknown)
        case .attribute(_, let attr, _):
            // `self.device = torch.device("cuda")`: later `.to(self.device)` places on it.
            if value.deviceKind != nil { attributes[attr] = value } else { attributes[attr] = nil }
        default:
            break
        }
    }

    /// The qualified name an expression refers to: `T.nn` → "torch.nn" after `import torch as T`.
    /// Unbound names are builtins ("builtins.open"); names bound to anything else have none.
    func qualified(_ e: Expr) -> String? {
        switch e.kind {
        case .name(let id, _):
            guard let value = lookup(id) else { return "builtins." + id }
            if case .module(let q) = value { return q }
            return nil
        case .attribute(let value, let attr, _):
            return qualified(value).map { $0 + "." + attr }
        case .call(let fn, let args, _):
            if let q = qualified(fn), q == "importlib.import_module" || q == "builtins.__import__",
                let name = args.first.flatMap({ evaluate($0).string })
            {
                return name
            }
            return nil
        default:
            return nil
        }
    }

    // MARK: Statements

    /// Binds module-level imports before walking, so functions defined above an import still see it.
    private mutating func hoistImports(_ body: [Stmt]) {
        for stmt in body {
            switch stmt.kind {
            case .import(let names):
                for alias in names {
                    let first = String(alias.name.split(separator: ".").first!)
                    bind(alias.asname ?? first, .module(alias.asname == nil ? first : alias.name))
                }
            case .importFrom(let module, let names, let level) where level == 0:
                for alias in names where alias.name != "*" {
                    bind(alias.asname ?? alias.name, .module((module.map { $0 + "." } ?? "") + alias.name))
                }
            default:
                break
            }
        }
    }

    private mutating func walk(_ body: [Stmt]) {
        for stmt in body { walk(stmt) }
    }

    private mutating func walk(_ stmt: Stmt) {
        switch stmt.kind {
        case .import(let names):
            for alias in names {
                let first = String(alias.name.split(separator: ".").first!)
                bind(alias.asname ?? first, .module(alias.asname == nil ? first : alias.name))
                recordImport(alias.name, asName: alias.asname, level: 0, stmt.range)
            }
        case .importFrom(let module, let names, let level):
            let base = module ?? ""
            recordImport(base, asName: nil, level: level, stmt.range)
            for alias in names where alias.name != "*" {
                let qualifiedName = level == 0 ? (base.isEmpty ? alias.name : base + "." + alias.name) : "local." + alias.name
                bind(alias.asname ?? alias.name, .module(qualifiedName))
                if level > 0 || source.localModule(base, level: level, from: file) != nil {
                    // `from . import helpers` may name a module of the function itself.
                    if let local = source.localModule(base.isEmpty ? alias.name : base + "." + alias.name, level: level, from: file) {
                        queue.append(local)
                    }
                } else if let cls = Frameworks.classify(qualifiedName), case .gpuOnly = cls {
                    add(.explicitGPU, stmt.range, "imports \(qualifiedName), which needs a GPU", weight: 1.0)
                }
            }
        case .assign(let targets, let value):
            visit(value)
            let v = evaluate(value)
            for target in targets {
                visitTargetChildren(target)
                bind(target: target, v)
            }
        case .annAssign(let target, _, let value, _):
            if let value {
                visit(value)
                bind(target: target, evaluate(value))
            }
        case .augAssign(let target, let op, let value):
            visit(value)
            let combined = Expr(.binOp(left: target, op: op, right: value), stmt.range)
            bind(target: target, evaluate(combined))
        case .expr(let value):
            visit(value)
        case .return(let value):
            if let value { visit(value) }
        case .functionDef(let f):
            for decorator in f.decoratorList { visitDecorator(decorator) }
            for e in f.args.defaultsAndAnnotations { visit(e) }
            bind(f.name, .unknown)
            let positional = f.args.posonlyargs + f.args.args
            parameters[f.name] = positional.map(\.arg) + f.args.kwonlyargs.map(\.arg)
            // A parameter is bound to the device its callers pass, else to a device default.
            var defaults: [String: Expr] = [:]
            for (arg, value) in zip(positional.suffix(f.args.defaults.count), f.args.defaults) { defaults[arg.arg] = value }
            for (arg, value) in zip(f.args.kwonlyargs, f.args.kwDefaults) { defaults[arg.arg] = value }
            let passed = parameterDevices[f.name] ?? [:]
            let scope = f.args.all.map { arg -> (String, Value) in
                if let device = passed[arg.arg] { return (arg.arg, device) }
                // LitServe's `setup(self, device)`: the instance's device, as `context.device` is.
                if f.name == "setup", arg.arg == "device" { return (arg.arg, .device(.optional)) }
                if let value = defaults[arg.arg].map(evaluate), value.deviceKind != nil { return (arg.arg, value) }
                return (arg.arg, .unknown)
            }
            scopes.append(Dictionary(scope, uniquingKeysWith: { a, _ in a }))
            walk(f.body)
            scopes.removeLast()
        case .classDef(let c):
            for e in c.bases + c.keywords.map(\.value) + c.decoratorList { visit(e) }
            let moduleBase = c.bases.compactMap { qualified($0) }.first { isModelBaseClass($0) }
            bind(c.name, moduleBase.map { .modelClass(ModelInfo(name: c.name, kind: .unknown), framework: Frameworks.root($0)) } ?? .unknown)
            scopes.append([:])
            walk(c.body)
            scopes.removeLast()
        case .if(let test, let body, let orelse):
            if let truth = staticTruth(test) {
                walk(truth ? body : orelse)
            } else if isMainGuard(test) {
                // Runs only when the file is executed as a script, never when Gaia serves it.
                walk(orelse)
            } else {
                visit(test)
                let checksGPU = mentionsGPUAvailability(test)
                if checksGPU { guarded += 1 }
                walk(body)
                if checksGPU { guarded -= 1 }
                let afterBody = scopes[scopes.count - 1]
                walk(orelse)
                // `if cuda: device = "cuda" else: device = "cpu"`: after the `if`, the device is
                // whichever is available.
                for (name, value) in afterBody {
                    guard let kind = value.deviceKind, let other = lookup(name)?.deviceKind, other != kind else { continue }
                    bind(name, .device(.optional))
                }
            }
        case .while(let test, let body, let orelse):
            if staticTruth(test) == false {
                walk(orelse)
                return
            }
            visit(test)
            loopDepth += 1
            walk(body)
            loopDepth -= 1
            walk(orelse)
        case .for(let target, let iter, let body, let orelse, _):
            visit(iter)
            bind(target: target, .unknown)
            loopDepth += 1
            walk(body)
            loopDepth -= 1
            walk(orelse)
        case .with(let items, let body, _):
            for item in items {
                visit(item.contextExpr)
                if let vars = item.optionalVars { bind(target: vars, evaluate(item.contextExpr)) }
            }
            walk(body)
        case .try(let body, let handlers, let orelse, let finalbody, _):
            walk(body)
            for handler in handlers {
                if let type = handler.type { visit(type) }
                if let name = handler.name { bind(name, .unknown) }
                walk(handler.body)
            }
            walk(orelse)
            walk(finalbody)
        case .match(let subject, let cases):
            visit(subject)
            for c in cases { walk(c.body) }
        case .raise(let exc, let cause):
            for e in [exc, cause].compactMap({ $0 }) { visit(e) }
        case .assert(let test, let msg):
            visit(test)
            if let msg { visit(msg) }
        case .delete(let targets):
            for target in targets { bind(target: target, .unknown) }
        case .typeAlias, .global, .nonlocal, .pass, .break, .continue:
            break
        }
    }

    private mutating func visitTargetChildren(_ target: Expr) {
        switch target.kind {
        case .attribute(let value, _, _): visit(value)
        case .subscript(let value, let slice, _):
            visit(value)
            visit(slice)
        default: break
        }
    }

    private func isModelBaseClass(_ q: String) -> Bool {
        ["torch.nn.Module", "torch.nn.modules.module.Module", "tensorflow.keras.Model", "keras.Model",
         "tensorflow.Module", "flax.linen.Module", "pytorch_lightning.LightningModule"].contains(q)
    }

    private mutating func recordImport(_ module: String, asName: String?, level: Int, _ range: SourceRange) {
        if level > 0 || source.localModule(module, level: level, from: file) != nil {
            if let local = source.localModule(module, level: level, from: file) { queue.append(local) }
            return
        }
        guard let cls = Frameworks.classify(module) else { return }
        let root = Frameworks.root(module)
        frameworks.insert(root)
        let shown = asName.map { "\(module) as \($0)" } ?? module
        switch cls {
        case .gpuOnly:
            add(.explicitGPU, range, "imports \(shown), which needs a GPU", weight: 1.0)
        case .deepLearning:
            add(.frameworkImport, range, "imports \(shown)", weight: 0.3)
            if Frameworks.gpuByDefault.contains(root) {
                add(.defaultGPU, range, "imports \(root), which puts work on a visible GPU by default", weight: 0.5)
            }
        case .cpuML:
            add(.cpuFramework, range, "imports \(shown)", weight: 0.4)
        case .cpuNumeric, .io:
            break
        }
    }

    /// `if False:`, `if 0:`, `if TYPE_CHECKING:`, `if DEBUG:` with `DEBUG = False`…
    private func staticTruth(_ test: Expr) -> Bool? {
        if case .unaryOp(.not, let operand) = test.kind { return staticTruth(operand).map { !$0 } }
        if let q = qualified(test), q == "typing.TYPE_CHECKING" || q == "builtins.TYPE_CHECKING" { return false }
        return evaluate(test).truthiness
    }

    private func isMainGuard(_ test: Expr) -> Bool {
        guard case .compare(let left, let ops, let comparators) = test.kind, ops == [.eq],
            case .name("__name__", _) = left.kind, case .constant(.str(let s), _) = comparators[0].kind
        else { return false }
        return s.description == "__main__"
    }

    private static let availabilityChecks = [
        "cuda.is_available", "cuda.device_count", "list_physical_devices", "is_gpu_available",
        "is_built_with_cuda", "get_available_providers", "mps.is_available", "get_device",
    ]

    /// Whether an expression asks if a GPU is there (`torch.cuda.is_available()` and the like).
    private func mentionsGPUAvailability(_ e: Expr) -> Bool {
        if let q = qualified(e), Self.availabilityChecks.contains(where: { q.hasSuffix($0) }) { return true }
        if case .device(.optional) = evaluate(e) { return true }
        return e.children.contains { mentionsGPUAvailability($0) }
    }

    // MARK: Expressions

    private mutating func visitDecorator(_ decorator: Expr) {
        let target: Expr
        if case .call(let fn, _, _) = decorator.kind { target = fn } else { target = decorator }
        if let q = qualified(target), q.hasPrefix("numba.cuda") {
            add(.explicitGPU, decorator.range, "compiles a CUDA kernel with @\(q.replacingPrefix("numba.", with: ""))", weight: 1.0)
        }
        // A decorator's keywords configure, they place nothing: `@app.function(gpu="A10G")` asks a
        // platform for a GPU (a hint, `HandlerConventions`), unlike `easyocr.Reader(gpu=True)`.
        if case .call(let fn, let args, let keywords) = decorator.kind {
            visit(fn)
            for e in args + keywords.map(\.value) { visit(e) }
        } else {
            visit(decorator)
        }
    }

    /// Visits an expression and all its sub-expressions, applying the evidence rules to each.
    private mutating func visit(_ e: Expr) {
        switch e.kind {
        case .call(let fn, let args, let keywords):
            inspectCall(e, fn, args, keywords)
        case .binOp(let left, .matMult, let right):
            inspectMatMul(e, evaluate(left), evaluate(right))
        case .listComp(let elt, let generators), .setComp(let elt, let generators), .generatorExp(let elt, let generators):
            for g in generators { visit(g.iter) }
            loopDepth += 1
            visit(elt)
            for g in generators { g.ifs.forEach { visit($0) } }
            loopDepth -= 1
            return
        case .dictComp(let key, let value, let generators):
            for g in generators { visit(g.iter) }
            loopDepth += 1
            visit(key)
            visit(value)
            loopDepth -= 1
            return
        case .ifExp(let test, _, _):
            if mentionsGPUAvailability(test) {
                add(.gpuCheck, e.range, "picks a device by whether a GPU is available", weight: 0.1)
            }
        default:
            break
        }
        for child in e.children { visit(child) }
    }

    private mutating func inspectMatMul(_ e: Expr, _ left: Value, _ right: Value) {
        var framework: String?
        var flops: Double?
        if case .tensor(let fa, let sa) = left, case .tensor(_, let sb) = right {
            framework = fa
            if let sa, let sb { flops = matmulFlops(sa, sb) }
        } else if case .tensor(let fa, _) = left {
            framework = fa
        } else if case .tensor(let fb, _) = right {
            framework = fb
        }
        let isDL = framework.map { [.deepLearning, .gpuOnly].contains(Frameworks.classify($0)) } ?? usesDeepLearning
        let size = flops.map { " (\(humanCount($0)) FLOPs)" } ?? ""
        if let flops { noteFlops(flops) }
        if isDL {
            add(.tensorWork, e.range, "multiplies \(framework ?? "tensor") matrices with @\(size)", weight: 0.5,
                heavy: (flops ?? 0) >= 1e9)
        } else if framework != nil || frameworks.contains("numpy") {
            add(.cpuCompute, e.range, "multiplies \(framework ?? "numpy") arrays with @\(size)", weight: 0.4)
        }
    }

    private mutating func inspectCall(_ call: Expr, _ fn: Expr, _ args: [Expr], _ keywords: [Keyword]) {
        let (q, method, receiver) = callee(fn)
        let last = q.map { String($0.split(separator: ".").last ?? "") } ?? method ?? ""
        let root = q.map(Frameworks.root)

        // Device placement through keywords: device="cuda", device_map="auto", tree_method="gpu_hist"…
        for keyword in keywords {
            guard let name = keyword.arg else { continue }
            let value = evaluate(keyword.value)
            switch name {
            case "device", "device_map", "map_location":
                switch value.deviceKind {
                case .gpu: add(.explicitGPU, keyword.range, "passes \(name)=\(describe(keyword.value, value))", weight: 1.0)
                case .optional: add(.optionalGPU, keyword.range, "passes \(name)=\(describe(keyword.value, value)), a GPU when available", weight: 0.6)
                case .cpu where name != "map_location": pin(keyword.range, "passes \(name)=\(describe(keyword.value, value))")
                default:
                    // transformers.pipeline(device=0) is the first GPU; device=-1 the CPU.
                    if name == "device", q == "transformers.pipeline", let n = value.number {
                        if n >= 0 { add(.explicitGPU, keyword.range, "passes device=\(n < 1000 ? String(Int(n)) : "\(n)") to transformers.pipeline, a GPU", weight: 1.0) }
                        else { pin(keyword.range, "passes device=-1 to transformers.pipeline, the CPU") }
                    }
                }
            case "tree_method" where value.string?.contains("gpu") == true:
                add(.explicitGPU, keyword.range, "trains with tree_method=\"\(value.string!)\"", weight: 1.0)
            case let flag where ["gpu", "use_gpu", "use_cuda", "cuda"].contains(flag) && value.truthiness != nil:
                if value.truthiness == true {
                    add(.explicitGPU, keyword.range, "passes \(name)=True", weight: 1.0)
                } else {
                    pin(keyword.range, "passes \(name)=False")
                }
            case "n_gpu_layers", "gpu_layers":
                // llama.cpp and ctransformers offload layers to the GPU when built with CUDA, and
                // run them on the CPU otherwise.
                if let n = value.number, n == 0 {
                    pin(keyword.range, "keeps every layer on the CPU with \(name)=0")
                } else if value.number != nil || value.truthiness == nil {
                    add(.optionalGPU, keyword.range, "offloads layers to the GPU with \(name)", weight: 0.6)
                }
            case "providers":
                inspectProviders(keyword.value)
            default:
                break
            }
        }

        // Explicit GPU calls.
        if method == "cuda", let receiver, qualified(receiver) == nil || qualified(receiver)?.hasPrefix("builtins.") == true {
            add(.explicitGPU, call.range, "calls .cuda()", weight: 1.0)
        }
        if method == "to", let device = args.first ?? keywords.first(where: { $0.arg == "device" })?.value {
            let value = evaluate(device)
            switch value.deviceKind {
            case .gpu: add(.explicitGPU, call.range, "moves to \(describe(device, value)) with .to()", weight: 1.0)
            case .optional: add(.optionalGPU, call.range, "moves to \(describe(device, value)) with .to(), a GPU when available", weight: 0.6)
            case .cpu: pin(call.range, "moves to \(describe(device, value)) with .to()")
            default: break
            }
        }
        noteDevicesPassed(fn, args, keywords)
        if let q {
            switch q {
            case "torch.device", "torch.set_default_device", "torch.cuda.set_device", "tensorflow.device", "jax.devices",
                "jax.device_put", "jax.default_device":
                if let arg = args.last ?? args.first {
                    let value = evaluate(arg)
                    let isGPU = value.deviceKind == .gpu || value.string.map { $0.lowercased().contains("gpu") } == true
                    if isGPU || q == "torch.cuda.set_device" {
                        add(.explicitGPU, call.range, "calls \(q)(\(describe(arg, value)))", weight: 1.0)
                    } else if value.deviceKind == .optional {
                        add(.optionalGPU, call.range, "calls \(q) with a GPU when available", weight: 0.6)
                    } else if value.deviceKind == .cpu, ["tensorflow.device", "torch.set_default_device", "jax.default_device"].contains(q) {
                        pin(call.range, "calls \(q)(\(describe(arg, value)))")
                    }
                }
            default:
                break
            }
            if Self.availabilityChecks.contains(where: { q.hasSuffix($0) }) {
                add(.gpuCheck, call.range, "checks \(q)()", weight: 0.1)
            }
            if ["transformers.pipeline", "accelerate.Accelerator"].contains(q), !keywords.contains(where: { ["device", "cpu", "device_map"].contains($0.arg ?? "") }) {
                add(.defaultGPU, call.range, "calls \(q)(), which uses the first GPU when there is one", weight: 0.5)
            }
            if let root, case .gpuOnly = Frameworks.classify(root) {
                add(.explicitGPU, call.range, "calls \(q), which needs a GPU", weight: 1.0)
            }
            if q.hasPrefix("numba.cuda.") {
                add(.explicitGPU, call.range, "calls \(q)", weight: 1.0)
            }
        }

        // Models, tensors and work.
        let callee = evaluate(fn)
        if let (info, framework) = modelLoad(q: q, method: method, receiver: receiver, args: args, keywords: keywords) {
            noteModel(info)
            if Frameworks.classify(framework) == .cpuML {
                add(.cpuFramework, call.range, "loads a \(framework) model", weight: 0.4)
            } else {
                let size = info.parameters.map { ", ~\(humanCount($0)) parameters" } ?? ""
                add(.modelLoad, call.range, "loads \(framework) model \(info.name)\(size)", weight: info.isHeavy ? 0.8 : 0.6,
                    heavy: info.isHeavy)
            }
        } else if case .modelClass(let info, let framework) = callee {
            add(.modelLoad, call.range, "builds \(framework) model \(info.name)", weight: 0.6)
        } else if case .model(let info, let framework) = callee {
            modelCall(call, info, framework, "runs \(info.name)")
        } else if let receiver, let method, case .model(let info, let framework) = evaluate(receiver),
            ["predict", "predict_proba", "run", "encode", "forward", "infer", "transcribe", "detect", "embed",
             "create_completion", "create_chat_completion", "__call__", "generate", "apply", "classify"].contains(method)
        {
            if method == "generate" || method.hasPrefix("create_") {
                work.generates = true
                add(.generation, call.range, "generates with \(info.name).\(method)()", weight: 0.9, heavy: true)
            } else {
                modelCall(call, info, framework, "calls \(info.name).\(method)()")
            }
        } else if method == "generate" && usesDeepLearning {
            work.generates = true
            add(.generation, call.range, "calls .generate()", weight: 0.9, heavy: true)
        }
        if let (framework, shape) = tensorConstructor(q: q, method: method, args: args, keywords: keywords) {
            if let shape {
                let elements = shape.reduce(1, *)
                work.maxTensorElements = max(work.maxTensorElements ?? 0, elements)
                let shown = shape.map { humanCount($0) }.joined(separator: "×")
                let isDL = [.deepLearning, .gpuOnly].contains(Frameworks.classify(framework))
                if isDL {
                    add(.tensorWork, call.range, "creates a \(shown) \(framework) tensor", weight: 0.4, heavy: elements >= 1e6)
                }
            }
        }
        if let q, let root {
            inspectLibraryCall(call, q: q, root: root, last: last, args: args)
        }
    }

    private mutating func modelCall(_ call: Expr, _ info: ModelInfo, _ framework: String, _ detail: String) {
        if Frameworks.classify(framework) == .cpuML {
            add(.cpuFramework, call.range, detail, weight: 0.4)
        } else {
            add(.tensorWork, call.range, detail, weight: 0.5, heavy: info.isHeavy)
        }
    }

    private mutating func inspectLibraryCall(_ call: Expr, q: String, root: String, last: String, args: [Expr]) {
        let cls = Frameworks.classify(root)
        let matrixOps: Set<String> = ["matmul", "mm", "bmm", "einsum", "dot", "tensordot", "conv1d", "conv2d", "conv3d",
                                      "linear", "baddbmm", "addmm", "scaled_dot_product_attention"]
        let layers: Set<String> = ["Linear", "Conv1d", "Conv2d", "Conv3d", "LSTM", "GRU", "RNN", "Transformer",
                                   "TransformerEncoder", "TransformerDecoder", "MultiheadAttention", "Embedding",
                                   "Dense", "Conv2D", "Conv1D", "Conv3D", "Attention", "ConvTranspose2d"]
        if cls == .deepLearning || cls == .gpuOnly {
            if matrixOps.contains(last) {
                var flops: Double?
                if ["matmul", "mm", "dot"].contains(last), args.count == 2,
                    case .tensor(_, let sa?) = evaluate(args[0]), case .tensor(_, let sb?) = evaluate(args[1]),
                    let product = matmulFlops(sa, sb)
                {
                    flops = product
                    noteFlops(product)
                }
                let size = flops.map { " (\(humanCount($0)) FLOPs)" } ?? ""
                add(.tensorWork, call.range, "calls \(q)\(size)", weight: 0.5, heavy: (flops ?? 0) >= 1e9)
            } else if layers.contains(last) {
                let numbers = args.prefix(2).compactMap { evaluate($0).number }
                var detail = "builds a \(last) layer"
                var params: Double?
                if numbers.count == 2 {
                    params = numbers[0] * numbers[1]
                    detail += " (\(humanCount(numbers[0]))→\(humanCount(numbers[1])))"
                }
                if let params { work.modelParameters = max(work.modelParameters ?? 0, params) }
                add(.tensorWork, call.range, detail, weight: 0.5, heavy: (params ?? 0) >= 16e6 || last.hasPrefix("Conv"))
            }
        } else if cls == .cpuNumeric, root == "numpy" || root == "scipy" {
            let heavyNumeric: Set<String> = ["matmul", "dot", "einsum", "tensordot", "inv", "solve", "svd", "eig", "eigh",
                                             "qr", "cholesky", "lstsq", "fft", "rfft", "fft2", "ifft", "convolve",
                                             "correlate", "det", "pinv", "kron", "outer"]
            if root == "scipy" || heavyNumeric.contains(last) {
                add(.cpuCompute, call.range, "calls \(q)", weight: 0.4)
            }
        } else if cls == .cpuML {
            if let first = last.first, first.isUppercase {
                add(.cpuFramework, call.range, "builds \(q)", weight: 0.4)
            }
        }
        let idle: Set<String> = [
            "time.sleep", "asyncio.sleep", "builtins.open", "builtins.input", "urllib.request.urlopen", "socket.socket",
            "socket.create_connection", "subprocess.run", "subprocess.check_output", "subprocess.Popen",
            "boto3.client", "boto3.resource", "sqlite3.connect", "smtplib.SMTP",
        ]
        if idle.contains(q) || ((root == "requests" || root == "httpx" || root == "aiohttp") && last.first?.isLowercase == true) {
            add(.idleIO, call.range, "calls \(q.replacingPrefix("builtins.", with: ""))", weight: 0.3)
        }
    }

    /// `providers=["CUDAExecutionProvider", "CPUExecutionProvider"]` for onnxruntime.
    private mutating func inspectProviders(_ e: Expr) {
        guard case .tuple(let items) = evaluate(e) else { return }
        let names = items.compactMap { item -> String? in
            if case .tuple(let pair) = item { return pair.first?.string }
            return item.string
        }
        let gpu = names.filter { ["CUDAExecutionProvider", "TensorrtExecutionProvider", "ROCMExecutionProvider"].contains($0) }
        guard let first = gpu.first else {
            if names == ["CPUExecutionProvider"] {
                pin(e.range, "pins onnxruntime to CPUExecutionProvider")
            }
            return
        }
        if names.contains("CPUExecutionProvider") {
            add(.optionalGPU, e.range, "asks onnxruntime for \(first) with a CPU fallback", weight: 0.6)
        } else {
            add(.explicitGPU, e.range, "asks onnxruntime for \(first)", weight: 1.0)
        }
    }

    /// Remembers the devices a call passes to one of the file's own functions (`classify(x, "cuda")`),
    /// so the function's parameters hold them when its body is walked.
    private mutating func noteDevicesPassed(_ fn: Expr, _ args: [Expr], _ keywords: [Keyword]) {
        guard scouting, case .name(let id, _) = fn.kind, let names = parameters[id] else { return }
        var passed: [(String, Value)] = zip(names, args).map { ($0, evaluate($1)) }
        passed += keywords.compactMap { k in k.arg.map { ($0, evaluate(k.value)) } }
        for (name, value) in passed {
            guard let kind = value.deviceKind else { continue }
            if let earlier = parameterDevices[id]?[name]?.deviceKind, earlier != kind {
                parameterDevices[id, default: [:]][name] = .device(.optional)  // callers disagree
            } else {
                parameterDevices[id, default: [:]][name] = value
            }
        }
    }

    private func describe(_ e: Expr, _ value: Value) -> String {
        if let s = value.string { return "\"\(s)\"" }
        switch e.kind {
        case .name(let id, _): return id
        default: return value.deviceKind == .optional ? "an available device" : "a GPU device"
        }
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
