extension Expr {
    /// The direct sub-expressions, in source order (comprehension targets, iterables and conditions
    /// included; lambda defaults and annotations included).
    public var children: [Expr] {
        switch kind {
        case .boolOp(_, let values): return values
        case .namedExpr(let target, let value): return [target, value]
        case .binOp(let left, _, let right): return [left, right]
        case .unaryOp(_, let operand): return [operand]
        case .lambda(let args, let body): return args.defaultsAndAnnotations + [body]
        case .ifExp(let test, let body, let orelse): return [body, test, orelse]
        case .dict(let keys, let values):
            var out: [Expr] = []
            for (k, v) in zip(keys, values) {
                if let k { out.append(k) }
                out.append(v)
            }
            return out
        case .set(let elts), .list(let elts, _), .tuple(let elts, _), .joinedStr(let elts): return elts
        case .listComp(let elt, let generators), .setComp(let elt, let generators),
            .generatorExp(let elt, let generators):
            return [elt] + generators.flatMap { [$0.target, $0.iter] + $0.ifs }
        case .dictComp(let key, let value, let generators):
            return [key, value] + generators.flatMap { [$0.target, $0.iter] + $0.ifs }
        case .await(let value), .yieldFrom(let value), .starred(let value, _), .attribute(let value, _, _):
            return [value]
        case .yield(let value): return value.map { [$0] } ?? []
        case .compare(let left, _, let comparators): return [left] + comparators
        case .call(let fn, let args, let keywords): return [fn] + args + keywords.map(\.value)
        case .formattedValue(let value, _, let spec): return [value] + (spec.map { [$0] } ?? [])
        case .subscript(let value, let slice, _): return [value, slice]
        case .slice(let lower, let upper, let step): return [lower, upper, step].compactMap { $0 }
        case .constant, .name: return []
        }
    }
}

extension Arguments {
    /// Every parameter of the list, in order.
    public var all: [Arg] {
        posonlyargs + args + (vararg.map { [$0] } ?? []) + kwonlyargs + (kwarg.map { [$0] } ?? [])
    }

    /// Default values and annotations: the expressions evaluated where the function is defined.
    public var defaultsAndAnnotations: [Expr] {
        defaults + kwDefaults.compactMap { $0 } + all.compactMap(\.annotation)
    }
}

extension Stmt {
    /// The statement's own expressions, in source order (those of nested statements excluded):
    /// decorators, bases, defaults and annotations of definitions; targets and values; tests.
    public var expressions: [Expr] {
        switch kind {
        case .functionDef(let f): return f.decoratorList + f.args.defaultsAndAnnotations + (f.returns.map { [$0] } ?? [])
        case .classDef(let c): return c.decoratorList + c.bases + c.keywords.map(\.value)
        case .return(let value): return value.map { [$0] } ?? []
        case .delete(let targets): return targets
        case .assign(let targets, let value): return targets + [value]
        case .typeAlias(let name, _, let value): return [name, value]
        case .augAssign(let target, _, let value): return [target, value]
        case .annAssign(let target, let annotation, let value, _): return [target, annotation] + (value.map { [$0] } ?? [])
        case .for(let target, let iter, _, _, _): return [target, iter]
        case .while(let test, _, _), .if(let test, _, _): return [test]
        case .with(let items, _, _): return items.flatMap { [$0.contextExpr] + ($0.optionalVars.map { [$0] } ?? []) }
        case .match(let subject, let cases): return [subject] + cases.compactMap(\.guardExpr)
        case .raise(let exc, let cause): return [exc, cause].compactMap { $0 }
        case .try(_, let handlers, _, _, _): return handlers.compactMap(\.type)
        case .assert(let test, let msg): return [test] + (msg.map { [$0] } ?? [])
        case .expr(let value): return [value]
        case .import, .importFrom, .global, .nonlocal, .pass, .break, .continue: return []
        }
    }

    /// The statement lists nested in the statement: a definition's body, both branches of an
    /// `if`, a `try`'s body, handlers, `else` and `finally`, each `case` of a `match`.
    public var bodies: [[Stmt]] {
        switch kind {
        case .functionDef(let f): return [f.body]
        case .classDef(let c): return [c.body]
        case .for(_, _, let body, let orelse, _), .while(_, let body, let orelse), .if(_, let body, let orelse): return [body, orelse]
        case .with(_, let body, _): return [body]
        case .match(_, let cases): return cases.map(\.body)
        case .try(let body, let handlers, let orelse, let finalbody, _): return [body] + handlers.map(\.body) + [orelse, finalbody]
        default: return []
        }
    }
}
