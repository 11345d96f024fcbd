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
