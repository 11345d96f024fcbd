extension Parser {
    /// Whether the current token can begin an expression.
    var startsExpression: Bool {
        switch kind {
        case .name, .number, .string, .fstringStart, .lpar, .lsqb, .lbrace, .minus, .plus, .tilde,
            .kwNot, .kwLambda, .kwAwait, .kwNone, .kwTrue, .kwFalse, .ellipsis, .star:
            return true
        default:
            return false
        }
    }

    /// star_expressions: star_expression (',' star_expression)* [',']
    mutating func parseStarExpressions() -> Expr {
        let first = parseStarExpression()
        guard kind == .comma else { return first }
        var elts = [first]
        while accept(.comma) != nil && startsExpression && !recovering {
            elts.append(parseStarExpression())
        }
        return Expr(.tuple(elts: elts, ctx: .load), range(from: first.range.start))
    }

    /// star_expression: '*' bitwise_or | expression
    mutating func parseStarExpression() -> Expr {
        if kind == .star {
            let start = advance().range.start
            let value = parseBitOr()
            return Expr(.starred(value: value, ctx: .load), range(from: start))
        }
        return parseExpression()
    }

    /// star_named_expression: '*' bitwise_or | named_expression
    mutating func parseStarNamedExpression() -> Expr {
        kind == .star ? parseStarExpression() : parseNamedExpression()
    }

    /// named_expression: NAME ':=' expression | expression
    mutating func parseNamedExpression() -> Expr {
        if kind == .name && peek(1) == .colonEqual {
            let nameToken = advance()
            advance()
            let target = Expr(.name(id: identifier(nameToken), ctx: .store), nameToken.range)
            let value = parseExpression()
            return Expr(.namedExpr(target: target, value: value), range(from: nameToken.range.start))
        }
        let e = parseExpression()
        if kind == .colonEqual && !recovering {
            error("cannot use assignment expressions with \(describe(e))", at: e.range)
        }
        return e
    }

    /// expression: disjunction 'if' disjunction 'else' expression | disjunction | lambdef
    mutating func parseExpression() -> Expr {
        if kind == .kwLambda { return parseLambda() }
        let body = parseDisjunction()
        guard kind == .kwIf else { return body }
        advance()
        let test = parseDisjunction()
        guard expect(.kwElse, "else") != nil else { return body }
        guard let orelse = nested({ $0.parseExpression() }) else { return body }
        return Expr(.ifExp(test: test, body: body, orelse: orelse), range(from: body.range.start))
    }

    /// yield_expr: 'yield' 'from' expression | 'yield' [star_expressions]
    mutating func parseYield() -> Expr {
        let start = advance().range.start
        if accept(.kwFrom) != nil {
            return Expr(.yieldFrom(value: parseExpression()), range(from: start))
        }
        let value = startsExpression ? parseStarExpressions() : nil
        return Expr(.yield(value: value), range(from: start))
    }

    /// lambdef: 'lambda' [lambda_params] ':' expression
    mutating func parseLambda() -> Expr {
        let start = advance().range.start
        let args = parseParameters(closing: .colon, annotations: false)
        expect(.colon, ":")
        guard let body = nested({ $0.parseExpression() }) else { return errorExpr() }
        return Expr(.lambda(args: args, body: body), range(from: start))
    }

    /// disjunction: conjunction ('or' conjunction)+ | conjunction
    mutating func parseDisjunction() -> Expr {
        let first = parseConjunction()
        guard kind == .kwOr else { return first }
        var values = [first]
        while accept(.kwOr) != nil { values.append(parseConjunction()) }
        return Expr(.boolOp(op: .or, values: values), range(from: first.range.start))
    }

    /// conjunction: inversion ('and' inversion)+ | inversion
    mutating func parseConjunction() -> Expr {
        let first = parseInversion()
        guard kind == .kwAnd else { return first }
        var values = [first]
        while accept(.kwAnd) != nil { values.append(parseInversion()) }
        return Expr(.boolOp(op: .and, values: values), range(from: first.range.start))
    }

    /// inversion: 'not' inversion | comparison
    mutating func parseInversion() -> Expr {
        guard kind == .kwNot else { return parseComparison() }
        let start = advance().range.start
        guard let operand = nested({ $0.parseInversion() }) else { return errorExpr() }
        return Expr(.unaryOp(op: .not, operand: operand), range(from: start))
    }

    /// comparison: bitwise_or compare_op_bitwise_or_pair+ | bitwise_or
    mutating func parseComparison() -> Expr {
        let left = parseBitOr()
        var ops: [CmpOperator] = []
        var comparators: [Expr] = []
        while true {
            let op: CmpOperator
            switch kind {
            case .eqEqual: op = .eq
            case .notEqual: op = .notEq
            case .less: op = .lt
            case .lessEqual: op = .ltE
            case .greater: op = .gt
            case .greaterEqual: op = .gtE
            case .kwIn: op = .in
            case .kwIs:
                if peek(1) == .kwNot {
                    advance()
                    op = .isNot
                } else {
                    op = .is
                }
            case .kwNot where peek(1) == .kwIn:
                advance()
                op = .notIn
            default:
                return ops.isEmpty
                    ? left : Expr(.compare(left: left, ops: ops, comparators: comparators), range(from: left.range.start))
            }
            advance()
            ops.append(op)
            comparators.append(parseBitOr())
        }
    }

    /// Parses a left-associative chain of binary operators over `operand`.
    mutating func parseBinary(_ table: (TokenKind) -> Operator?, _ operand: (inout Parser) -> Expr) -> Expr {
        var left = operand(&self)
        let baseDepth = treeDepth
        defer { treeDepth = baseDepth }
        while let op = table(kind), extendChain() {
            advance()
            let right = operand(&self)
            left = Expr(.binOp(left: left, op: op, right: right), range(from: left.range.start))
        }
        return left
    }

    /// bitwise_or: bitwise_or '|' bitwise_xor | bitwise_xor
    mutating func parseBitOr() -> Expr {
        parseBinary({ $0 == .vbar ? .bitOr : nil }) { $0.parseBitXor() }
    }

    /// bitwise_xor: bitwise_xor '^' bitwise_and | bitwise_and
    mutating func parseBitXor() -> Expr {
        parseBinary({ $0 == .circumflex ? .bitXor : nil }) { $0.parseBitAnd() }
    }

    /// bitwise_and: bitwise_and '&' shift_expr | shift_expr
    mutating func parseBitAnd() -> Expr {
        parseBinary({ $0 == .amper ? .bitAnd : nil }) { $0.parseShift() }
    }

    /// shift_expr: shift_expr ('<<' | '>>') sum | sum
    mutating func parseShift() -> Expr {
        parseBinary({ $0 == .leftShift ? .lShift : $0 == .rightShift ? .rShift : nil }) { $0.parseSum() }
    }

    /// sum: sum ('+' | '-') term | term
    mutating func parseSum() -> Expr {
        parseBinary({ $0 == .plus ? .add : $0 == .minus ? .sub : nil }) { $0.parseTerm() }
    }

    /// term: term ('*' | '/' | '//' | '%' | '@') factor | factor
    mutating func parseTerm() -> Expr {
        parseBinary({
            switch $0 {
            case .star: .mult
            case .slash: .div
            case .doubleSlash: .floorDiv
            case .percent: .mod
            case .at: .matMult
            default: nil
            }
        }) { $0.parseFactor() }
    }

    /// factor: ('+' | '-' | '~') factor | power
    mutating func parseFactor() -> Expr {
        let op: UnaryOperator
        switch kind {
        case .plus: op = .uAdd
        case .minus: op = .uSub
        case .tilde: op = .invert
        default: return parsePower()
        }
        let start = advance().range.start
        guard let operand = nested({ $0.parseFactor() }) else { return errorExpr() }
        return Expr(.unaryOp(op: op, operand: operand), range(from: start))
    }

    /// power: await_primary '**' factor | await_primary
    mutating func parsePower() -> Expr {
        let base = parseAwaitPrimary()
        guard accept(.doubleStar) != nil else { return base }
        guard let exponent = nested({ $0.parseFactor() }) else { return errorExpr() }
        return Expr(.binOp(left: base, op: .pow, right: exponent), range(from: base.range.start))
    }

    /// await_primary: 'await' primary | primary
    mutating func parseAwaitPrimary() -> Expr {
        guard kind == .kwAwait else { return parsePrimary() }
        let start = advance().range.start
        guard let value = nested({ $0.parsePrimary() }) else { return errorExpr() }
        return Expr(.await(value: value), range(from: start))
    }

    /// primary: primary '.' NAME | primary genexp | primary '(' [arguments] ')' | primary '[' slices ']' | atom
    mutating func parsePrimary() -> Expr {
        var e = parseAtom()
        let baseDepth = treeDepth
        defer { treeDepth = baseDepth }
        while !recovering && [.dot, .lpar, .lsqb].contains(kind) && extendChain() {
            switch kind {
            case .dot:
                advance()
                guard let t = expect(.name, "name") else { return e }
                e = Expr(.attribute(value: e, attr: identifier(t), ctx: .load), range(from: e.range.start))
            case .lpar:
                advance()
                let (args, keywords) = parseCallArguments()
                expect(.rpar, ")")
                e = Expr(.call(func: e, args: args, keywords: keywords), range(from: e.range.start))
            case .lsqb:
                advance()
                let slice = parseSlices()
                expect(.rsqb, "]")
                e = Expr(.subscript(value: e, slice: slice, ctx: .load), range(from: e.range.start))
            default:
                return e
            }
        }
        return e
    }

    /// slices: slice !',' | ','.(slice | starred_expression)+ [',']
    mutating func parseSlices() -> Expr {
        let start = token.range.start
        let first = parseSlice()
        guard kind == .comma else {
            if case .starred = first.kind {
                return Expr(.tuple(elts: [first], ctx: .load), range(from: start))
            }
            return first
        }
        var elts = [first]
        while accept(.comma) != nil && kind != .rsqb && !recovering {
            elts.append(parseSlice())
        }
        return Expr(.tuple(elts: elts, ctx: .load), range(from: start))
    }

    /// slice: [expression] ':' [expression] [':' [expression]] | named_expression
    mutating func parseSlice() -> Expr {
        let start = token.range.start
        var lower: Expr?
        if kind == .star { return parseStarExpression() }
        if kind != .colon {
            let e = parseNamedExpression()
            if kind != .colon { return e }
            lower = e
        }
        advance()
        let upper = startsExpression ? parseExpression() : nil
        var step: Expr?
        if accept(.colon) != nil, startsExpression { step = parseExpression() }
        return Expr(.slice(lower: lower, upper: upper, step: step), range(from: start))
    }

    /// atom: NAME | 'True' | 'False' | 'None' | strings | NUMBER | tuple | group | genexp | list
    ///   | listcomp | dict | set | dictcomp | setcomp | '...'
    mutating func parseAtom() -> Expr {
        let t = token
        switch t.kind {
        case .name:
            advance()
            return Expr(.name(id: identifier(t), ctx: .load), t.range)
        case .kwTrue, .kwFalse:
            advance()
            return Expr(.constant(value: .bool(t.kind == .kwTrue), kind: nil), t.range)
        case .kwNone:
            advance()
            return Expr(.constant(value: .none, kind: nil), t.range)
        case .ellipsis:
            advance()
            return Expr(.constant(value: .ellipsis, kind: nil), t.range)
        case .number:
            advance()
            return Expr(.constant(value: numberValue(t), kind: nil), t.range)
        case .string, .fstringStart:
            return parseStrings()
        case .lpar, .lsqb, .lbrace:
            return nested { $0.parseBracketed() } ?? errorExpr()
        default:
            if t.kind.isKeyword || t.kind == .newline || t.kind == .endMarker || t.kind == .indent || t.kind == .dedent {
                error("invalid syntax")
            } else if t.kind == .error {
                recovering = true
            } else {
                error("invalid syntax")
            }
            return errorExpr()
        }
    }

    /// tuple | group | genexp | list | listcomp | dict | set | dictcomp | setcomp
    mutating func parseBracketed() -> Expr {
        let open = advance()
        let start = open.range.start
        switch open.kind {
        case .lpar:
            if accept(.rpar) != nil { return Expr(.tuple(elts: [], ctx: .load), range(from: start)) }
            if kind == .kwYield {
                let y = parseYield()
                expect(.rpar, ")")
                return y
            }
            let first = parseStarNamedExpression()
            if kind == .kwFor || (kind == .kwAsync && peek(1) == .kwFor) {
                let generators = parseComprehensions()
                expect(.rpar, ")")
                return Expr(.generatorExp(elt: first, generators: generators), range(from: start))
            }
            if kind == .rpar {
                advance()
                if case .starred = first.kind {
                    error("cannot use starred expression here", at: first.range)
                }
                return first
            }
            var elts = [first]
            while accept(.comma) != nil && kind != .rpar && !recovering {
                elts.append(parseStarNamedExpression())
            }
            expect(.rpar, ")")
            return Expr(.tuple(elts: elts, ctx: .load), range(from: start))
        case .lsqb:
            if accept(.rsqb) != nil { return Expr(.list(elts: [], ctx: .load), range(from: start)) }
            let first = parseStarNamedExpression()
            if kind == .kwFor || (kind == .kwAsync && peek(1) == .kwFor) {
                let generators = parseComprehensions()
                expect(.rsqb, "]")
                return Expr(.listComp(elt: first, generators: generators), range(from: start))
            }
            var elts = [first]
            while accept(.comma) != nil && kind != .rsqb && !recovering {
                elts.append(parseStarNamedExpression())
            }
            expect(.rsqb, "]")
            return Expr(.list(elts: elts, ctx: .load), range(from: start))
        default:
            return parseBraced(start: start)
        }
    }

    /// dict | set | dictcomp | setcomp, after the '{'.
    mutating func parseBraced(start: UInt32) -> Expr {
        if accept(.rbrace) != nil { return Expr(.dict(keys: [], values: []), range(from: start)) }
        var keys: [Expr?] = []
        var values: [Expr] = []
        if kind == .doubleStar {
            advance()
            keys.append(nil)
            values.append(parseBitOr())
        } else {
            let first = parseStarNamedExpression()
            if accept(.colon) != nil {
                let value = parseExpression()
                if kind == .kwFor || (kind == .kwAsync && peek(1) == .kwFor) {
                    let generators = parseComprehensions()
                    expect(.rbrace, "}")
                    return Expr(.dictComp(key: first, value: value, generators: generators), range(from: start))
                }
                keys.append(first)
                values.append(value)
            } else {
                if kind == .kwFor || (kind == .kwAsync && peek(1) == .kwFor) {
                    let generators = parseComprehensions()
                    expect(.rbrace, "}")
                    return Expr(.setComp(elt: first, generators: generators), range(from: start))
                }
                var elts = [first]
                while accept(.comma) != nil && kind != .rbrace && !recovering {
                    elts.append(parseStarNamedExpression())
                }
                expect(.rbrace, "}")
                return Expr(.set(elts: elts), range(from: start))
            }
        }
        while accept(.comma) != nil && kind != .rbrace && !recovering {
            if accept(.doubleStar) != nil {
                keys.append(nil)
                values.append(parseBitOr())
            } else {
                keys.append(parseExpression())
                expect(.colon, ":")
                values.append(parseExpression())
            }
        }
        expect(.rbrace, "}")
        return Expr(.dict(keys: keys, values: values), range(from: start))
    }

    /// for_if_clauses: (['async'] 'for' star_targets 'in' disjunction ('if' disjunction)*)+
    mutating func parseComprehensions() -> [Comprehension] {
        var generators: [Comprehension] = []
        while (kind == .kwFor || (kind == .kwAsync && peek(1) == .kwFor)) && !recovering {
            let isAsync = accept(.kwAsync) != nil
            advance()
            let target = parseForTarget()
            expect(.kwIn, "in")
            let iter = parseDisjunction()
            var ifs: [Expr] = []
            while accept(.kwIf) != nil { ifs.append(parseDisjunction()) }
            generators.append(Comprehension(target: target, iter: iter, ifs: ifs, isAsync: isAsync))
        }
        return generators
    }

    /// arguments: positional, starred, keyword and `**` arguments; a lone generator expression.
    mutating func parseCallArguments() -> ([Expr], [Keyword]) {
        var args: [Expr] = []
        var keywords: [Keyword] = []
        while kind != .rpar && kind != .endMarker && !recovering {
            let start = token.range.start
            if kind == .star {
                advance()
                let value = parseExpression()
                if keywords.contains(where: { $0.arg == nil }) {
                    error("iterable argument unpacking follows keyword argument unpacking", at: range(from: start))
                }
                args.append(Expr(.starred(value: value, ctx: .load), range(from: start)))
            } else if kind == .doubleStar {
                advance()
                keywords.append(Keyword(arg: nil, value: parseExpression(), range: range(from: start)))
            } else if kind == .name && peek(1) == .equal {
                let nameToken = advance()
                advance()
                keywords.append(Keyword(arg: identifier(nameToken), value: parseExpression(), range: range(from: start)))
            } else {
                var e = parseNamedExpression()
                if kind == .kwFor || (kind == .kwAsync && peek(1) == .kwFor) {
                    let generators = parseComprehensions()
                    e = Expr(.generatorExp(elt: e, generators: generators), range(from: start))
                    if !args.isEmpty || !keywords.isEmpty || kind == .comma && peek(1) != .rpar {
                        error("Generator expression must be parenthesized", at: e.range)
                    }
                } else if kind == .equal {
                    error("expression cannot contain assignment, perhaps you meant \"==\"?", at: e.range)
                }
                if let last = keywords.last {
                    error(
                        last.arg == nil
                            ? "positional argument follows keyword argument unpacking"
                            : "positional argument follows keyword argument", at: e.range)
                }
                args.append(e)
            }
            if accept(.comma) == nil { break }
        }
        return (args, keywords)
    }

    /// params / lambda_params: positional-only, positional, `*args`, keyword-only and `**kwargs` parameters.
    mutating func parseParameters(closing: TokenKind, annotations: Bool) -> Arguments {
        var result = Arguments()
        var seenStar = false
        var sawDefault = false
        while kind != closing && kind != .endMarker && !recovering {
            let start = token.range.start
            if kind == .slash {
                advance()
                if seenStar || !result.posonlyargs.isEmpty || result.args.isEmpty {
                    error("/ must be ahead of *", at: range(from: start))
                }
                result.posonlyargs = result.args
                result.args = []
            } else if kind == .doubleStar {
                advance()
                result.kwarg = parseParameter(annotations: annotations, starAnnotation: false)
                if kind == .equal { error("var-keyword argument cannot have default value") }
            } else if kind == .star {
                advance()
                seenStar = true
                if kind != .comma && kind != closing {
                    result.vararg = parseParameter(annotations: annotations, starAnnotation: true)
                    if kind == .equal { error("var-positional argument cannot have default value") }
                } else if kind == closing || peek(1) == closing {
                    error("named arguments must follow bare *", at: range(from: start))
                }
            } else {
                guard let param = parseParameter(annotations: annotations, starAnnotation: false) else { break }
                var defaultValue: Expr?
                if accept(.equal) != nil { defaultValue = parseExpression() }
                if seenStar {
                    result.kwonlyargs.append(param)
                    result.kwDefaults.append(defaultValue)
                } else {
                    result.args.append(param)
                    if let d = defaultValue {
                        result.defaults.append(d)
                        sawDefault = true
                    } else if sawDefault {
                        error("non-default argument follows default argument", at: param.range)
                    }
                }
            }
            if accept(.comma) == nil { break }
        }
        return result
    }

    /// param: NAME [':' expression] (with `*args: *Ts` allowed for the var-positional one)
    mutating func parseParameter(annotations: Bool, starAnnotation: Bool) -> Arg? {
        guard let t = expect(.name, "name") else { return nil }
        var annotation: Expr?
        if annotations && accept(.colon) != nil {
            annotation = starAnnotation && kind == .star ? parseStarExpression() : parseExpression()
        }
        return Arg(arg: identifier(t), annotation: annotation, range: range(from: t.range.start))
    }

    // MARK: Targets

    /// star_targets of a `for` or comprehension: star_target (',' star_target)* [','], stored.
    mutating func parseForTarget() -> Expr {
        let start = token.range.start
        let first = parseTargetAtom()
        guard kind == .comma else { return toTarget(first, context: .store) }
        var elts = [first]
        while accept(.comma) != nil && kind != .kwIn && !recovering {
            elts.append(parseTargetAtom())
        }
        return toTarget(Expr(.tuple(elts: elts, ctx: .load), range(from: start)), context: .store)
    }

    /// star_target: '*' target | target, parsed as a bitwise_or expression and checked later.
    mutating func parseTargetAtom() -> Expr {
        if kind == .star {
            let start = advance().range.start
            let value = parseBitOr()
            return Expr(.starred(value: value, ctx: .load), range(from: start))
        }
        return parseBitOr()
    }

    /// del_targets: ','.del_target+ [',']
    mutating func parseTargetList(context: ExprContext, until stops: [TokenKind]) -> [Expr] {
        var targets: [Expr] = []
        repeat {
            if stops.contains(kind) { break }
            targets.append(toTarget(parseBitOr(), context: context))
        } while accept(.comma) != nil && !recovering
        return targets
    }

    /// Turns a parsed expression into an assignment or deletion target, or reports why it cannot be one.
    mutating func toTarget(_ e: Expr, context: ExprContext, annotated: Bool = false, augmented: Bool = false) -> Expr {
        var e = e
        switch e.kind {
        case .name(let id, _):
            e.kind = .name(id: id, ctx: context)
        case .attribute(let value, let attr, _):
            e.kind = .attribute(value: value, attr: attr, ctx: context)
        case .subscript(let value, let slice, _):
            e.kind = .subscript(value: value, slice: slice, ctx: context)
        case .tuple(let elts, _), .list(let elts, _):
            if annotated || augmented {
                let what = if case .tuple = e.kind { "tuple" } else { "list" }
                error(
                    annotated
                        ? "only single target (not \(what)) can be annotated"
                        : "'\(what)' is an illegal expression for augmented assignment", at: e.range)
                return e
            }
            let converted = elts.map { toTarget($0, context: context) }
            if case .tuple = e.kind {
                e.kind = .tuple(elts: converted, ctx: context)
            } else {
                e.kind = .list(elts: converted, ctx: context)
            }
        case .starred(let value, _):
            e.kind = .starred(value: toTarget(value, context: context), ctx: context)
        default:
            if case .name(id: "<error>", _) = e.kind { break }
            let verb = context == .del ? "delete" : "assign to"
            if augmented {
                error("'\(describe(e))' is an illegal expression for augmented assignment", at: e.range)
            } else {
                error("cannot \(verb) \(describe(e))", at: e.range)
            }
        }
        return e
    }

    /// CPython's name for an expression in "cannot assign to …" messages.
    func describe(_ e: Expr) -> String {
        switch e.kind {
        case .call: "function call"
        case .constant(.none, _): "None"
        case .constant(.bool(let b), _): b ? "True" : "False"
        case .constant(.ellipsis, _): "ellipsis"
        case .constant: "literal"
        case .joinedStr: "f-string expression"
        case .compare: "comparison"
        case .lambda: "lambda"
        case .ifExp: "conditional expression"
        case .namedExpr: "named expression"
        case .boolOp, .binOp, .unaryOp: "expression"
        case .listComp: "list comprehension"
        case .setComp: "set comprehension"
        case .dictComp: "dict comprehension"
        case .generatorExp: "generator expression"
        case .await: "await expression"
        case .yield, .yieldFrom: "yield expression"
        case .dict: "dict literal"
        case .set: "set display"
        case .tuple: "tuple"
        case .list: "list"
        case .starred: "starred"
        default: "expression"
        }
    }
}
