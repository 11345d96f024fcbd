public import GaiaCore
public import PythonSyntax

/// The handler a file defines: the convention it follows, its name, and what the platform's own
/// settings in the file ask for.
public struct HandlerEntry: Sendable, Hashable {
    /// Whose entry point it is.
    public var convention: HandlerConvention
    /// The function or class the shim loads.
    public var handler: String
    /// Where it is defined (1-based).
    public var line: Int
    /// The largest batch the platform's settings ask for (LitServe's `max_batch_size`), if any.
    public var maxBatch: Int?
    /// Whether the handler takes batches: Gaia's file defines `handle_batch(payloads, context)`, or
    /// a LitAPI is served with a batch size.
    public var batches: Bool { convention == .gaia ? definesBatchHandler : maxBatch != nil }
    /// Gaia's convention: the file defines `handle_batch`.
    var definesBatchHandler = false
    /// GPUs asked for in the platform's decorators or server settings: hints, never decisions.
    public var gpuHints: [Hint] = []
    /// A GPU the platform's own machinery needs, whatever the code does (a Truss model served by
    /// Truss's TensorRT-LLM engine, `trt_llm`): evidence like `.cuda()`.
    public var gpuRequirements: [Hint] = []
    /// Other handlers of the same convention in the file that the deployed one never refers to
    /// (a file of several LitAPI classes): not part of this function, so left out of its analysis.
    public var siblings: Set<String> = []

    /// One GPU request in a platform's settings.
    public struct Hint: Sendable, Hashable {
        /// 1-based line.
        public var line: Int
        /// What was asked for: `@app.function(gpu="A10G")`.
        public var detail: String
    }
}

/// Finds the handler of a file among the conventions Gaia runs (`HandlerConvention`), from its
/// syntax tree alone: base classes, decorators and the calls that start another platform's
/// server, resolved through the file's imports.
public enum HandlerConventions {
    /// The handler `parsed` defines, or nil when it follows no convention Gaia knows.
    public static func detect(_ parsed: ParseResult) -> HandlerEntry? {
        ConventionFinder(parsed).find()
    }

    /// The handler a file's bytes define.
    public static func detect(bytes: [UInt8]) -> HandlerEntry? {
        detect(PythonParser.parse(bytes: bytes))
    }
}

/// One pass over a file collecting what the rules need; `find` applies them, strongest first.
private struct ConventionFinder {
    let parsed: ParseResult
    /// Local names of imports, to what they name: `ls` → `litserve`, `serve` → `ray.serve`.
    var aliases: [String: String] = [:]
    var functions: [FunctionDef] = []
    var functionLines: [String: Int] = [:]
    var classes: [(ClassDef, Int)] = []
    /// Every call of the file, with its callee's qualified name.
    var calls: [(name: String, args: [Expr], keywords: [Keyword], line: Int)] = []
    /// Top-level names bound to a call's result, to the callee's qualified name (`app = modal.App()`).
    var boundCalls: [String: String] = [:]
    /// Every name the file reads or writes anywhere (not the names definitions bind).
    var names: Set<String> = []

    init(_ parsed: ParseResult) {
        self.parsed = parsed
        collectImports(parsed.module.body)
        for stmt in parsed.module.body {
            switch stmt.kind {
            case .functionDef(let f):
                functions.append(f)
                functionLines[f.name] = line(stmt.range)
            case .classDef(let c):
                classes.append((c, line(stmt.range)))
            case .assign(let targets, let value):
                if case .call(let fn, _, _) = value.kind, let callee = qualified(fn) {
                    for case .name(let id, _) in targets.map(\.kind) { boundCalls[id] = callee }
                }
            default: break
            }
        }
        collectCalls(parsed.module.body)
    }

    func line(_ range: SourceRange) -> Int { parsed.location(of: range).line }

    private mutating func collectImports(_ body: [Stmt]) {
        for stmt in body {
            switch stmt.kind {
            case .import(let names):
                for alias in names {
                    if let local = alias.asname { aliases[local] = alias.name } else {
                        let first = String(alias.name.split(separator: ".").first ?? "")
                        aliases[first] = first
                    }
                }
            case .importFrom(let module, let names, let level) where level == 0:
                for alias in names where alias.name != "*" {
                    aliases[alias.asname ?? alias.name] = (module.map { $0 + "." } ?? "") + alias.name
                }
            default: break
            }
            for nested in stmt.bodies { collectImports(nested) }
        }
    }

    private mutating func collectCalls(_ body: [Stmt]) {
        for stmt in body {
            var stack = stmt.expressions
            while let e = stack.popLast() {
                if case .call(let fn, let args, let keywords) = e.kind, let name = qualified(fn) {
                    calls.append((name, args, keywords, line(e.range)))
                }
                if case .name(let id, _) = e.kind { names.insert(id) }
                stack += e.children
            }
            for nested in stmt.bodies { collectCalls(nested) }
        }
    }

    /// `ls.LitAPI` → `litserve.LitAPI`; a call's result or a subscript has none.
    func qualified(_ e: Expr) -> String? {
        switch e.kind {
        case .name(let id, _): return aliases[id] ?? id
        case .attribute(let value, let attr, _): return qualified(value).map { $0 + "." + attr }
        default: return nil
        }
    }

    /// A decorator's name, called or not: `@app.function(gpu="T4")` → `app.function`.
    func decoratorName(_ e: Expr) -> String? {
        if case .call(let fn, _, _) = e.kind { return qualified(fn) }
        return qualified(e)
    }

    func keywords(of decorator: Expr) -> [Keyword] {
        if case .call(_, _, let keywords) = decorator.kind { return keywords }
        return []
    }

    func methods(of c: ClassDef) -> [FunctionDef] {
        c.body.compactMap { if case .functionDef(let f) = $0.kind { f } else { nil } }
    }

    func entry(_ convention: HandlerConvention, _ name: String, _ line: Int, hints: [HandlerEntry.Hint] = [], maxBatch: Int? = nil) -> HandlerEntry {
        HandlerEntry(convention: convention, handler: name, line: line, maxBatch: maxBatch, gpuHints: hints)
    }

    func find() -> HandlerEntry? {
        // Strong signs first: a platform's base class, decorator or start call.
        if let runPod = calls.first(where: { $0.name == "runpod.serverless.start" || $0.name.hasSuffix("serverless.start") }),
            case .dict(let keys, let values)? = runPod.args.first?.kind,
            let index = keys.firstIndex(where: { $0.flatMap(Self.string) == "handler" }),
            case .name(let handler, _) = values[index].kind
        {
            return entry(.runPod, handler, functionLines[handler] ?? runPod.line)
        }
        let cog = classes.filter { c, _ in c.bases.compactMap(qualified).contains { ["cog.BasePredictor", "BasePredictor"].contains($0) } }
        if let (c, line) = cog.first { return withSiblings(entry(.cog, c.name, line), among: cog) }
        let litAPIs = classes.filter { c, _ in
            c.bases.compactMap(qualified).contains { ["litserve.LitAPI", "litserve.api.LitAPI", "LitAPI"].contains($0) }
        }
        if let (c, line) = litAPIs.first { return withSiblings(litServe(c, line), among: litAPIs) }
        for (c, line) in classes {
            for decorator in c.decoratorList {
                switch decoratorName(decorator) {
                case "bentoml.service":
                    return entry(.bentoML, c.name, line, hints: hints(decorator, in: ["resources"]))
                case "ray.serve.deployment":
                    return entry(.rayServe, c.name, line, hints: hints(decorator, in: ["ray_actor_options"]))
                case let name? where isModalApp(name, member: "cls"):
                    return entry(.modal, c.name, line, hints: hints(decorator, in: ["gpu"]))
                default: continue
                }
            }
        }
        if let modal = modalFunction() { return modal }
        for f in functions {
            for decorator in f.decoratorList {
                let name = decoratorName(decorator)
                if name == "ray.serve.deployment" {
                    return entry(.rayServe, f.name, functionLines[f.name] ?? 1, hints: hints(decorator, in: ["ray_actor_options"]))
                }
                if name == "functions_framework.http" { return entry(.googleCloudFunctions, f.name, functionLines[f.name] ?? 1) }
                if let name, let app = name.split(separator: ".").first,
                    boundCalls[String(app)] == "azure.functions.FunctionApp", name.hasSuffix(".route")
                {
                    return entry(.azureFunctions, f.name, functionLines[f.name] ?? 1)
                }
            }
        }
        // Names and signatures: weaker, so after every decorator.
        if let handle = function("handle") {
            let parameters = handle.args.posonlyargs + handle.args.args
            if parameters.count == 2, reads(handle, parameter: parameters[0].arg, attributes: ["body", "headers", "method", "query", "path"]) {
                return entry(.openFaaSHTTP, "handle", functionLines["handle"] ?? 1)
            }
            var found = entry(parameters.count == 1 ? .openFaaS : .gaia, "handle", functionLines["handle"] ?? 1)
            found.definesBatchHandler = function("handle_batch") != nil
            return found
        }
        for (c, line) in classes {
            let methodNames = Set(methods(of: c).map(\.name))
            if c.name == "EndpointHandler", methodNames.contains("__call__") { return entry(.huggingFaceEndpoints, c.name, line) }
            if c.name == "Model", methodNames.contains("predict") {
                var found = entry(.truss, c.name, line)
                // Truss passes `trt_llm` (its TensorRT-LLM engine) to a model it serves with one.
                if let initializer = methods(of: c).first(where: { $0.name == "__init__" }), initializer.args.all.contains(where: { $0.arg == "trt_llm" }) {
                    found.gpuRequirements = [.init(line: line, detail: "is served by Truss's TensorRT-LLM engine (its trt_llm argument), which runs only on a GPU")]
                }
                return found
            }
            if c.name == "Predictor", methodNames.contains("predict"), aliases.values.contains(where: { $0.hasPrefix("cog") }) {
                return entry(.cog, c.name, line)
            }
        }
        if let main = function("main"), aliases.values.contains(where: { $0.hasPrefix("azure.functions") }) {
            return entry(.azureFunctions, "main", functionLines[main.name] ?? 1)
        }
        if let new = function("new"), new.args.all.isEmpty { return entry(.knativeFuncASGI, "new", functionLines["new"] ?? 1) }
        if let main = function("main"), (main.args.posonlyargs + main.args.args).count == 1 {
            return entry(.knativeFunc, "main", functionLines["main"] ?? 1)
        }
        let lambdas = ["lambda_handler", "handler"].compactMap(function)
            + functions.filter { f in
                let p = f.args.posonlyargs + f.args.args
                return p.count == 2 && p[0].arg == "event" && p[1].arg == "context"
            }
        if let f = lambdas.first, (f.args.posonlyargs + f.args.args).count == 2 {
            let event = (f.args.posonlyargs + f.args.args)[0].arg
            let http = readsKeys(f, of: event, ["body", "httpMethod", "queryStringParameters", "pathParameters", "requestContext", "rawPath"])
                || returnsKey(f, "statusCode")
            return entry(http ? .awsLambdaHTTP : .awsLambda, f.name, functionLines[f.name] ?? 1)
        }
        return nil
    }

    func function(_ name: String) -> FunctionDef? { functions.last { $0.name == name } }

    /// The other classes of the handler's convention that nothing in the file refers to.
    func withSiblings(_ found: HandlerEntry, among candidates: [(ClassDef, Int)]) -> HandlerEntry {
        var found = found
        found.siblings = Set(candidates.map(\.0.name).filter { $0 != found.handler && !names.contains($0) })
        return found
    }

    /// A LitAPI subclass; its batch size from `LitServer(max_batch_size=)` or the class's own
    /// constructor, its GPU hint from `LitServer(accelerator="gpu")`.
    func litServe(_ c: ClassDef, _ line: Int) -> HandlerEntry {
        var maxBatch: Int?
        var hints: [HandlerEntry.Hint] = []
        // The server of this API (`LitServer(C(), ...)`), or any server where the file has one API.
        func serves(_ call: (name: String, args: [Expr], keywords: [Keyword], line: Int)) -> Bool {
            guard call.name == "litserve.LitServer" || call.name == "LitServer" else { return call.name == c.name }
            guard case .call(let fn, _, _)? = call.args.first?.kind ?? call.keywords.first(where: { $0.arg == "lit_api" })?.value.kind else {
                return true
            }
            return qualified(fn) == c.name
        }
        for call in calls where serves(call) {
            for keyword in call.keywords {
                if keyword.arg == "max_batch_size", case .constant(.int(let n), _) = keyword.value.kind, let size = Int(n.description), size > 1 {
                    maxBatch = size
                }
                if keyword.arg == "accelerator", let value = Self.string(keyword.value), ["gpu", "cuda"].contains(value.lowercased()) {
                    hints.append(.init(line: call.line, detail: "LitServer(accelerator=\"\(value)\")"))
                }
            }
        }
        return entry(.litServe, c.name, line, hints: hints, maxBatch: maxBatch)
    }

    /// Whether `name` is `<app>.<member>` for an `app = modal.App(...)` (or a `Stub`) of the file.
    func isModalApp(_ name: String, member: String) -> Bool {
        let parts = name.split(separator: ".")
        guard parts.count == 2, parts[1] == member, let callee = boundCalls[String(parts[0])] else { return false }
        return ["modal.App", "modal.Stub"].contains(callee)
    }

    /// A Modal function: one behind a web endpoint first, else the first `@app.function` that is
    /// not the local entry point.
    func modalFunction() -> HandlerEntry? {
        var first: HandlerEntry?
        for f in functions {
            guard let app = f.decoratorList.first(where: { decoratorName($0).map { isModalApp($0, member: "function") } ?? false }) else { continue }
            let found = entry(.modal, f.name, functionLines[f.name] ?? 1, hints: hints(app, in: ["gpu"]))
            let names = f.decoratorList.compactMap(decoratorName)
            if names.contains(where: { ["modal.fastapi_endpoint", "modal.web_endpoint"].contains($0) }) { return found }
            if first == nil { first = found }
        }
        return first
    }

    /// GPUs a decorator asks for: `gpu="A10G"`, `resources={"gpu": 1}`, `ray_actor_options={"num_gpus": 1}`.
    func hints(_ decorator: Expr, in names: Set<String>) -> [HandlerEntry.Hint] {
        var out: [HandlerEntry.Hint] = []
        let at = line(decorator.range)
        for keyword in keywords(of: decorator) where names.contains(keyword.arg ?? "") {
            let name = keyword.arg ?? ""
            switch keyword.value.kind {
            case .constant(.none, _), .constant(.bool(false), _): continue
            case .constant(.int(let n), _) where n.description == "0": continue
            case .dict(let keys, let values):
                for (key, value) in zip(keys, values) {
                    guard let key = key.flatMap(Self.string), ["gpu", "gpus", "num_gpus", "nvidia.com/gpu"].contains(key) else { continue }
                    if case .constant(.int(let n), _) = value.kind, n.description == "0" { continue }
                    out.append(.init(line: at, detail: "\(name)={\"\(key)\": …} in @\(decoratorName(decorator) ?? "?")"))
                }
            default:
                let shown = Self.string(keyword.value).map { "\"\($0)\"" } ?? "…"
                out.append(.init(line: at, detail: "\(name)=\(shown) in @\(decoratorName(decorator) ?? "?")"))
            }
        }
        return out
    }

    static func string(_ e: Expr) -> String? {
        if case .constant(.str(let s), _) = e.kind { return s.description }
        return nil
    }

    /// Whether a function reads `parameter.<one of attributes>`.
    func reads(_ f: FunctionDef, parameter: String, attributes: Set<String>) -> Bool {
        expressions(of: f.body).contains { e in
            if case .attribute(let value, let attr, _) = e.kind, attributes.contains(attr), case .name(parameter, _) = value.kind { return true }
            return false
        }
    }

    /// Whether a function reads `event["body"]` or `event.get("body")` for one of `keys`.
    func readsKeys(_ f: FunctionDef, of parameter: String, _ keys: Set<String>) -> Bool {
        expressions(of: f.body).contains { e in
            switch e.kind {
            case .subscript(let value, let slice, _):
                if case .name(parameter, _) = value.kind, let key = Self.string(slice) { return keys.contains(key) }
            case .call(let fn, let args, _):
                if case .attribute(let value, "get", _) = fn.kind, case .name(parameter, _) = value.kind,
                    let key = args.first.flatMap(Self.string)
                {
                    return keys.contains(key)
                }
            default: break
            }
            return false
        }
    }

    /// Whether a function returns a dict literal with `key` (`{"statusCode": 200, ...}`).
    func returnsKey(_ f: FunctionDef, _ key: String) -> Bool {
        expressions(of: f.body).contains { e in
            if case .dict(let keys, _) = e.kind { return keys.contains { $0.flatMap(Self.string) == key } }
            return false
        }
    }

    /// Every expression of a body, nested ones included.
    func expressions(of body: [Stmt]) -> [Expr] {
        var out: [Expr] = []
        var statements = body
        while let stmt = statements.popLast() {
            var stack = stmt.expressions
            while let e = stack.popLast() {
                out.append(e)
                stack += e.children
            }
            for nested in stmt.bodies { statements += nested }
        }
        return out
    }
}
