extension Module {
    /// The tree as CPython 3.12's `ast.dump(tree)` prints it, text for text.
    public func dump() -> String {
        var d = ASTDumper()
        d.begin("Module")
        d.list("body", body) { $0.stmt($1) }
        d.key("type_ignores")
        d.out += "[]"
        d.end()
        return d.out
    }
}

extension Expr {
    /// The expression as `ast.dump` prints it.
    public func dump() -> String {
        var d = ASTDumper()
        d.expr(self)
        return d.out
    }
}

/// Writes nodes in `ast.dump`'s format: `Name(field=value, …)`, optional fields left out when
/// absent, lists always shown, values in Python `repr` form.
struct ASTDumper {
    var out = ""
    private var needComma: [Bool] = []

    mutating func begin(_ name: String) {
        out += name
        out += "("
        needComma.append(false)
    }

    mutating func end() {
        needComma.removeLast()
        out += ")"
    }

    mutating func key(_ name: String) {
        if needComma[needComma.count - 1] { out += ", " }
        needComma[needComma.count - 1] = true
        out += name
        out += "="
    }

    mutating func list<T>(_ name: String, _ items: [T], _ each: (inout ASTDumper, T) -> Void) {
        key(name)
        out += "["
        for (i, item) in items.enumerated() {
            if i > 0 { out += ", " }
            each(&self, item)
        }
        out += "]"
    }

    mutating func field(_ name: String, _ e: Expr?) {
        guard let e else { return }
        key(name)
        expr(e)
    }

    mutating func field(_ name: String, _ s: String?) {
        guard let s else { return }
        key(name)
        out += PythonRepr.string(PyString(s))
    }

    mutating func field(_ name: String, _ n: Int) {
        key(name)
        out += String(n)
    }

    mutating func symbol(_ name: String, _ value: String) {
        key(name)
        out += value
        out += "()"
    }

    mutating func stmts(_ name: String, _ body: [Stmt]) {
        list(name, body) { $0.stmt($1) }
    }

    mutating func exprs(_ name: String, _ items: [Expr]) {
        list(name, items) { $0.expr($1) }
    }

    mutating func optionalExprs(_ name: String, _ items: [Expr?]) {
        list(name, items) { d, e in
            if let e { d.expr(e) } else { d.out += "None" }
        }
    }

    mutating func names(_ name: String, _ items: [String]) {
        list(name, items) { $0.out += PythonRepr.string(PyString($1)) }
    }

    // MARK: Statements

    mutating func stmt(_ s: Stmt) {
        switch s.kind {
        case .functionDef(let f):
            begin(f.isAsync ? "AsyncFunctionDef" : "FunctionDef")
            field("name", f.name)
            key("args")
            arguments(f.args)
            stmts("body", f.body)
            exprs("decorator_list", f.decoratorList)
            field("returns", f.returns)
            typeParams(f.typeParams)
        case .classDef(let c):
            begin("ClassDef")
            field("name", c.name)
            exprs("bases", c.bases)
            list("keywords", c.keywords) { $0.keyword($1) }
            stmts("body", c.body)
            exprs("decorator_list", c.decoratorList)
            typeParams(c.typeParams)
        case .return(let value):
            begin("Return")
            field("value", value)
        case .delete(let targets):
            begin("Delete")
            exprs("targets", targets)
        case .assign(let targets, let value):
            begin("Assign")
            exprs("targets", targets)
            field("value", value)
        case .typeAlias(let name, let params, let value):
            begin("TypeAlias")
            field("name", name)
            typeParams(params)
            field("value", value)
        case .augAssign(let target, let op, let value):
            begin("AugAssign")
            field("target", target)
            symbol("op", op.rawValue)
            field("value", value)
        case .annAssign(let target, let annotation, let value, let simple):
            begin("AnnAssign")
            field("target", target)
            field("annotation", annotation)
            field("value", value)
            field("simple", simple ? 1 : 0)
        case .for(let target, let iter, let body, let orelse, let isAsync):
            begin(isAsync ? "AsyncFor" : "For")
            field("target", target)
            field("iter", iter)
            stmts("body", body)
            stmts("orelse", orelse)
        case .while(let test, let body, let orelse):
            begin("While")
            field("test", test)
            stmts("body", body)
            stmts("orelse", orelse)
        case .if(let test, let body, let orelse):
            begin("If")
            field("test", test)
            stmts("body", body)
            stmts("orelse", orelse)
        case .with(let items, let body, let isAsync):
            begin(isAsync ? "AsyncWith" : "With")
            list("items", items) { d, item in
                d.begin("withitem")
                d.field("context_expr", item.contextExpr)
                d.field("optional_vars", item.optionalVars)
                d.end()
            }
            stmts("body", body)
        case .match(let subject, let cases):
            begin("Match")
            field("subject", subject)
            list("cases", cases) { d, c in
                d.begin("match_case")
                d.key("pattern")
                d.pattern(c.pattern)
                d.field("guard", c.guardExpr)
                d.stmts("body", c.body)
                d.end()
            }
        case .raise(let exc, let cause):
            begin("Raise")
            field("exc", exc)
            field("cause", cause)
        case .try(let body, let handlers, let orelse, let finalbody, let isStar):
            begin(isStar ? "TryStar" : "Try")
            stmts("body", body)
            list("handlers", handlers) { d, h in
                d.begin("ExceptHandler")
                d.field("type", h.type)
                d.field("name", h.name)
                d.stmts("body", h.body)
                d.end()
            }
            stmts("orelse", orelse)
            stmts("finalbody", finalbody)
        case .assert(let test, let msg):
            begin("Assert")
            field("test", test)
            field("msg", msg)
        case .import(let names):
            begin("Import")
            list("names", names) { $0.alias($1) }
        case .importFrom(let module, let names, let level):
            begin("ImportFrom")
            field("module", module)
            list("names", names) { $0.alias($1) }
            field("level", level)
        case .global(let names):
            begin("Global")
            self.names("names", names)
        case .nonlocal(let names):
            begin("Nonlocal")
            self.names("names", names)
        case .expr(let value):
            begin("Expr")
            field("value", value)
        case .pass:
            begin("Pass")
        case .break:
            begin("Break")
        case .continue:
            begin("Continue")
        }
        end()
    }

    mutating func alias(_ a: Alias) {
        begin("alias")
        field("name", a.name)
        field("asname", a.asname)
        end()
    }

    mutating func keyword(_ k: Keyword) {
        begin("keyword")
        field("arg", k.arg)
        field("value", k.value)
        end()
    }

    mutating func arguments(_ a: Arguments) {
        begin("arguments")
        list("posonlyargs", a.posonlyargs) { $0.arg($1) }
        list("args", a.args) { $0.arg($1) }
        if let v = a.vararg {
            key("vararg")
            arg(v)
        }
        list("kwonlyargs", a.kwonlyargs) { $0.arg($1) }
        optionalExprs("kw_defaults", a.kwDefaults)
        if let k = a.kwarg {
            key("kwarg")
            arg(k)
        }
        exprs("defaults", a.defaults)
        end()
    }

    mutating func arg(_ a: Arg) {
        begin("arg")
        field("arg", a.arg)
        field("annotation", a.annotation)
        end()
    }

    mutating func typeParams(_ params: [TypeParam]) {
        list("type_params", params) { d, param in
            switch param {
            case .typeVar(let name, let bound, _):
                d.begin("TypeVar")
                d.field("name", name)
                d.field("bound", bound)
            case .paramSpec(let name, _):
                d.begin("ParamSpec")
                d.field("name", name)
            case .typeVarTuple(let name, _):
                d.begin("TypeVarTuple")
                d.field("name", name)
            }
            d.end()
        }
    }

    // MARK: Expressions

    mutating func expr(_ e: Expr) {
        switch e.kind {
        case .boolOp(let op, let values):
            begin("BoolOp")
            symbol("op", op.rawValue)
            exprs("values", values)
        case .namedExpr(let target, let value):
            begin("NamedExpr")
            field("target", target)
            field("value", value)
        case .binOp(let left, let op, let right):
            begin("BinOp")
            field("left", left)
            symbol("op", op.rawValue)
            field("right", right)
        case .unaryOp(let op, let operand):
            begin("UnaryOp")
            symbol("op", op.rawValue)
            field("operand", operand)
        case .lambda(let args, let body):
            begin("Lambda")
            key("args")
            arguments(args)
            field("body", body)
        case .ifExp(let test, let body, let orelse):
            begin("IfExp")
            field("test", test)
            field("body", body)
            field("orelse", orelse)
        case .dict(let keys, let values):
            begin("Dict")
            optionalExprs("keys", keys)
            exprs("values", values)
        case .set(let elts):
            begin("Set")
            exprs("elts", elts)
        case .listComp(let elt, let generators):
            begin("ListComp")
            field("elt", elt)
            comprehensions(generators)
        case .setComp(let elt, let generators):
            begin("SetComp")
            field("elt", elt)
            comprehensions(generators)
        case .dictComp(let k, let v, let generators):
            begin("DictComp")
            field("key", k)
            field("value", v)
            comprehensions(generators)
        case .generatorExp(let elt, let generators):
            begin("GeneratorExp")
            field("elt", elt)
            comprehensions(generators)
        case .await(let value):
            begin("Await")
            field("value", value)
        case .yield(let value):
            begin("Yield")
            field("value", value)
        case .yieldFrom(let value):
            begin("YieldFrom")
            field("value", value)
        case .compare(let left, let ops, let comparators):
            begin("Compare")
            field("left", left)
            list("ops", ops) { d, op in
                d.out += op.rawValue
                d.out += "()"
            }
            exprs("comparators", comparators)
        case .call(let fn, let args, let keywords):
            begin("Call")
            field("func", fn)
            exprs("args", args)
            list("keywords", keywords) { $0.keyword($1) }
        case .formattedValue(let value, let conversion, let spec):
            begin("FormattedValue")
            field("value", value)
            field("conversion", conversion)
            field("format_spec", spec)
        case .joinedStr(let values):
            begin("JoinedStr")
            exprs("values", values)
        case .constant(let value, let kind):
            begin("Constant")
            key("value")
            out += PythonRepr.constant(value)
            field("kind", kind)
        case .attribute(let value, let attr, let ctx):
            begin("Attribute")
            field("value", value)
            field("attr", attr)
            symbol("ctx", ctx.rawValue)
        case .subscript(let value, let slice, let ctx):
            begin("Subscript")
            field("value", value)
            field("slice", slice)
            symbol("ctx", ctx.rawValue)
        case .starred(let value, let ctx):
            begin("Starred")
            field("value", value)
            symbol("ctx", ctx.rawValue)
        case .name(let id, let ctx):
            begin("Name")
            field("id", id)
            symbol("ctx", ctx.rawValue)
        case .list(let elts, let ctx):
            begin("List")
            exprs("elts", elts)
            symbol("ctx", ctx.rawValue)
        case .tuple(let elts, let ctx):
            begin("Tuple")
            exprs("elts", elts)
            symbol("ctx", ctx.rawValue)
        case .slice(let lower, let upper, let step):
            begin("Slice")
            field("lower", lower)
            field("upper", upper)
            field("step", step)
        }
        end()
    }

    mutating func comprehensions(_ generators: [Comprehension]) {
        list("generators", generators) { d, c in
            d.begin("comprehension")
            d.field("target", c.target)
            d.field("iter", c.iter)
            d.exprs("ifs", c.ifs)
            d.field("is_async", c.isAsync ? 1 : 0)
            d.end()
        }
    }

    // MARK: Patterns

    mutating func pattern(_ p: Pattern) {
        switch p.kind {
        case .matchValue(let value):
            begin("MatchValue")
            field("value", value)
        case .matchSingleton(let value):
            begin("MatchSingleton")
            key("value")
            out += PythonRepr.constant(value)
        case .matchSequence(let patterns):
            begin("MatchSequence")
            list("patterns", patterns) { $0.pattern($1) }
        case .matchMapping(let keys, let patterns, let rest):
            begin("MatchMapping")
            exprs("keys", keys)
            list("patterns", patterns) { $0.pattern($1) }
            field("rest", rest)
        case .matchClass(let cls, let patterns, let kwdAttrs, let kwdPatterns):
            begin("MatchClass")
            field("cls", cls)
            list("patterns", patterns) { $0.pattern($1) }
            names("kwd_attrs", kwdAttrs)
            list("kwd_patterns", kwdPatterns) { $0.pattern($1) }
        case .matchStar(let name):
            begin("MatchStar")
            field("name", name)
        case .matchAs(let inner, let name):
            begin("MatchAs")
            if let inner {
                key("pattern")
                pattern(inner)
            }
            field("name", name)
        case .matchOr(let patterns):
            begin("MatchOr")
            list("patterns", patterns) { $0.pattern($1) }
        }
        end()
    }
}
