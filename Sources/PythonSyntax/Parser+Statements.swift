extension Parser {
    /// file: [statements] ENDMARKER
    mutating func parseFile() -> [Stmt] {
        var body: [Stmt] = []
        while kind != .endMarker {
            let before = p
            switch kind {
            case .newline:
                advance()
            case .indent:
                error("unexpected indent", at: tokens[min(p + 1, tokens.count - 1)].range)
                advance()
                recovering = false
            case .dedent:
                advance()
            default:
                body += parseStatement()
            }
            if p == before { forceProgress() }
        }
        return body
    }

    /// Reports and skips a token no rule could consume, so parsing always advances.
    mutating func forceProgress() {
        error("invalid syntax")
        advance()
        synchronize()
        recovering = false
    }

    /// statement: compound_stmt | simple_stmts
    mutating func parseStatement() -> [Stmt] {
        recovering = false
        switch kind {
        case .kwDef, .kwIf, .kwClass, .kwWith, .kwFor, .kwTry, .kwWhile, .at, .kwAsync:
            if kind == .kwAsync && ![.kwDef, .kwWith, .kwFor].contains(peek(1)) { break }
            guard let parsed = nested({ $0.parseCompoundStatement() }), let stmt = parsed else {
                // A broken header: skip its line and the indented block under it.
                synchronize()
                skipIndentedBlock()
                recovering = false
                return []
            }
            return [stmt]
        default:
            if isSoftKeyword("match"), let stmt = parseMatchStatement() { return [stmt] }
        }
        return parseSimpleStatements()
    }

    /// Skips an INDENT … DEDENT block whole, nested blocks included.
    mutating func skipIndentedBlock() {
        guard kind == .indent else { return }
        var level = 0
        repeat {
            if kind == .indent { level += 1 } else if kind == .dedent { level -= 1 }
            advance()
        } while level > 0 && kind != .endMarker
    }

    /// simple_stmts: simple_stmt (';' simple_stmt)* [';'] NEWLINE
    mutating func parseSimpleStatements() -> [Stmt] {
        var stmts: [Stmt] = []
        let errorsBefore = diagnostics.count
        while true {
            let stmt = parseSimpleStatement()
            if recovering { break }
            stmts.append(stmt)
            if accept(.semi) != nil {
                if kind == .newline || kind == .endMarker { break }
                continue
            }
            break
        }
        if !recovering && kind != .newline && kind != .endMarker {
            error("invalid syntax")
        }
        if diagnostics.count > errorsBefore || recovering {
            synchronize()
            recovering = false
            return stmts
        }
        _ = accept(.newline)
        return stmts
    }

    /// simple_stmt: assignment | star_expressions | return | import | raise | pass | del | yield
    ///   | assert | break | continue | global | nonlocal | type_alias
    mutating func parseSimpleStatement() -> Stmt {
        let start = token.range.start
        switch kind {
        case .kwPass:
            advance()
            return Stmt(.pass, range(from: start))
        case .kwBreak:
            advance()
            return Stmt(.break, range(from: start))
        case .kwContinue:
            advance()
            return Stmt(.continue, range(from: start))
        case .kwReturn:
            advance()
            let value = startsExpression ? parseStarExpressions() : nil
            return Stmt(.return(value: value), range(from: start))
        case .kwRaise:
            advance()
            var exc: Expr?
            var cause: Expr?
            if startsExpression {
                exc = parseExpression()
                if accept(.kwFrom) != nil { cause = parseExpression() }
            }
            return Stmt(.raise(exc: exc, cause: cause), range(from: start))
        case .kwGlobal, .kwNonlocal:
            let isGlobal = advance().kind == .kwGlobal
            var names: [String] = []
            repeat {
                guard let t = expect(.name, "name") else { break }
                names.append(identifier(t))
            } while accept(.comma) != nil
            return Stmt(isGlobal ? .global(names: names) : .nonlocal(names: names), range(from: start))
        case .kwDel:
            advance()
            let targets = parseTargetList(context: .del, until: [.newline, .semi])
            return Stmt(.delete(targets: targets), range(from: start))
        case .kwAssert:
            advance()
            let test = parseExpression()
            let msg = accept(.comma) != nil ? parseExpression() : nil
            return Stmt(.assert(test: test, msg: msg), range(from: start))
        case .kwImport:
            return parseImport()
        case .kwFrom:
            return parseImportFrom()
        default:
            if isSoftKeyword("type") && peek(1) == .name && (peek(2) == .equal || peek(2) == .lsqb) {
                return parseTypeAlias()
            }
            return parseExpressionStatement()
        }
    }

    /// Assignments, annotated and augmented assignments, and expression statements.
    mutating func parseExpressionStatement() -> Stmt {
        let start = token.range.start
        let startsWithParen = kind == .lpar
        let first = kind == .kwYield ? parseYield() : parseStarExpressions()
        if kind == .colon {
            advance()
            let target = toTarget(first, context: .store, annotated: true)
            let annotation = parseExpression()
            var value: Expr?
            if accept(.equal) != nil {
                value = kind == .kwYield ? parseYield() : parseStarExpressions()
            }
            var simple = false
            if case .name = first.kind, !startsWithParen { simple = true }
            return Stmt(.annAssign(target: target, annotation: annotation, value: value, simple: simple), range(from: start))
        }
        if let op = kind.augmentedOperator {
            advance()
            let target = toTarget(first, context: .store, augmented: true)
            let value = kind == .kwYield ? parseYield() : parseStarExpressions()
            return Stmt(.augAssign(target: target, op: op, value: value), range(from: start))
        }
        if kind == .equal {
            var targets = [toTarget(first, context: .store)]
            var value = first
            while accept(.equal) != nil {
                value = kind == .kwYield ? parseYield() : parseStarExpressions()
                if kind == .equal { targets.append(toTarget(value, context: .store)) }
            }
            return Stmt(.assign(targets: targets, value: value), range(from: start))
        }
        return Stmt(.expr(value: first), range(from: start))
    }

    /// type_alias: "type" NAME [type_params] '=' expression
    mutating func parseTypeAlias() -> Stmt {
        let start = advance().range.start
        let nameToken = advance()
        let name = Expr(.name(id: identifier(nameToken), ctx: .store), nameToken.range)
        let params = kind == .lsqb ? parseTypeParams() : []
        expect(.equal, "=")
        let value = parseExpression()
        return Stmt(.typeAlias(name: name, typeParams: params, value: value), range(from: start))
    }

    /// import_name: 'import' dotted_as_names
    mutating func parseImport() -> Stmt {
        let start = advance().range.start
        var names: [Alias] = []
        repeat {
            let aliasStart = token.range.start
            guard let name = parseDottedName() else { break }
            var asname: String?
            if accept(.kwAs) != nil, let t = expect(.name, "name") { asname = identifier(t) }
            names.append(Alias(name: name, asname: asname, range: range(from: aliasStart)))
        } while accept(.comma) != nil
        return Stmt(.import(names: names), range(from: start))
    }

    /// dotted_name: NAME ('.' NAME)*
    mutating func parseDottedName() -> String? {
        guard let first = expect(.name, "name") else { return nil }
        var name = identifier(first)
        while kind == .dot {
            advance()
            guard let t = expect(.name, "name") else { return nil }
            name += "." + identifier(t)
        }
        return name
    }

    /// import_from: 'from' ('.' | '...')* dotted_name 'import' targets | 'from' ('.' | '...')+ 'import' targets
    mutating func parseImportFrom() -> Stmt {
        let start = advance().range.start
        var level = 0
        while kind == .dot || kind == .ellipsis {
            level += advance().kind == .dot ? 1 : 3
        }
        var module: String?
        if kind != .kwImport || level == 0 { module = parseDottedName() }
        expect(.kwImport, "import")
        var names: [Alias] = []
        if kind == .star {
            let t = advance()
            names.append(Alias(name: "*", asname: nil, range: t.range))
        } else {
            let parenthesized = accept(.lpar) != nil
            repeat {
                if parenthesized && kind == .rpar { break }
                let aliasStart = token.range.start
                guard let t = expect(.name, "name") else { break }
                var asname: String?
                if accept(.kwAs) != nil, let a = expect(.name, "name") { asname = identifier(a) }
                names.append(Alias(name: identifier(t), asname: asname, range: range(from: aliasStart)))
            } while accept(.comma) != nil
            if parenthesized {
                expect(.rpar, ")")
            } else if names.isEmpty {
                error("invalid syntax")
            } else if tokens[p - 1].kind == .comma {
                error("trailing comma not allowed without surrounding parentheses", at: tokens[p - 1].range)
            }
        }
        return Stmt(.importFrom(module: module, names: names, level: level), range(from: start))
    }

    // MARK: Compound statements

    /// compound_stmt: function_def | if_stmt | class_def | with_stmt | for_stmt | try_stmt | while_stmt | match_stmt
    mutating func parseCompoundStatement() -> Stmt? {
        switch kind {
        case .at: return parseDecorated()
        case .kwDef: return parseFunctionDef(decorators: [], start: token.range.start, isAsync: false)
        case .kwClass: return parseClassDef(decorators: [], start: token.range.start)
        case .kwIf: return parseIf()
        case .kwWhile: return parseWhile()
        case .kwFor: return parseFor(start: token.range.start, isAsync: false)
        case .kwWith: return parseWith(start: token.range.start, isAsync: false)
        case .kwTry: return parseTry()
        case .kwAsync:
            let start = advance().range.start
            switch kind {
            case .kwDef: return parseFunctionDef(decorators: [], start: start, isAsync: true)
            case .kwFor: return parseFor(start: start, isAsync: true)
            default: return parseWith(start: start, isAsync: true)
            }
        default:
            return nil
        }
    }

    /// block: NEWLINE INDENT statements DEDENT | simple_stmts
    mutating func parseBlock(after keyword: String, line: Int) -> [Stmt] {
        if accept(.colon) == nil {
            error("expected ':'")
            synchronize()
            recovering = false
            if kind != .indent { return [] }
        } else if accept(.newline) == nil {
            return parseSimpleStatements()
        }
        guard accept(.indent) != nil else {
            recovering = false
            error("expected an indented block after \(keyword) on line \(line)")
            return []
        }
        var body: [Stmt] = []
        while kind != .dedent && kind != .endMarker {
            let before = p
            if kind == .indent {
                error("unexpected indent", at: tokens[min(p + 1, tokens.count - 1)].range)
                advance()
                recovering = false
                continue
            }
            if kind == .newline {
                advance()
                continue
            }
            body += parseStatement()
            if p == before { forceProgress() }
        }
        _ = accept(.dedent)
        recovering = false
        return body
    }

    func line(of t: Token) -> Int { lines.location(of: t.range).line }

    /// decorators: ('@' named_expression NEWLINE)+, then a function or class definition.
    mutating func parseDecorated() -> Stmt? {
        let start = token.range.start
        var decorators: [Expr] = []
        while accept(.at) != nil {
            decorators.append(parseNamedExpression())
            if expect(.newline, "newline") == nil { return nil }
        }
        switch kind {
        case .kwDef: return parseFunctionDef(decorators: decorators, start: start, isAsync: false)
        case .kwClass: return parseClassDef(decorators: decorators, start: start)
        case .kwAsync where peek(1) == .kwDef:
            advance()
            return parseFunctionDef(decorators: decorators, start: start, isAsync: true)
        default:
            error("invalid syntax")
            return nil
        }
    }

    /// function_def: 'def' NAME [type_params] '(' [params] ')' ['->' expression] ':' block
    mutating func parseFunctionDef(decorators: [Expr], start: UInt32, isAsync: Bool) -> Stmt? {
        let defToken = advance()
        guard let nameToken = expect(.name, "name") else { return nil }
        let typeParams = kind == .lsqb ? parseTypeParams() : []
        guard expect(.lpar, "(") != nil else { return nil }
        let args = parseParameters(closing: .rpar, annotations: true)
        guard expect(.rpar, ")") != nil else { return nil }
        let returns = accept(.rarrow) != nil ? parseExpression() : nil
        let body = parseBlock(after: "function definition", line: line(of: defToken))
        let def = FunctionDef(
            name: identifier(nameToken), args: args, body: body, decoratorList: decorators,
            returns: returns, typeParams: typeParams, isAsync: isAsync)
        return Stmt(.functionDef(def), range(from: start))
    }

    /// class_def: 'class' NAME [type_params] ['(' [arguments] ')'] ':' block
    mutating func parseClassDef(decorators: [Expr], start: UInt32) -> Stmt? {
        let classToken = advance()
        guard let nameToken = expect(.name, "name") else { return nil }
        let typeParams = kind == .lsqb ? parseTypeParams() : []
        var bases: [Expr] = []
        var keywords: [Keyword] = []
        if accept(.lpar) != nil {
            (bases, keywords) = parseCallArguments()
            expect(.rpar, ")")
        }
        let body = parseBlock(after: "class definition", line: line(of: classToken))
        let def = ClassDef(
            name: identifier(nameToken), bases: bases, keywords: keywords, body: body,
            decoratorList: decorators, typeParams: typeParams)
        return Stmt(.classDef(def), range(from: start))
    }

    /// type_params: '[' type_param (',' type_param)* [','] ']'
    mutating func parseTypeParams() -> [TypeParam] {
        advance()
        var params: [TypeParam] = []
        while kind != .rsqb && kind != .endMarker {
            let start = token.range.start
            if accept(.star) != nil {
                guard let t = expect(.name, "name") else { break }
                params.append(.typeVarTuple(name: identifier(t), range: range(from: start)))
            } else if accept(.doubleStar) != nil {
                guard let t = expect(.name, "name") else { break }
                params.append(.paramSpec(name: identifier(t), range: range(from: start)))
            } else {
                guard let t = expect(.name, "name") else { break }
                let bound = accept(.colon) != nil ? parseExpression() : nil
                params.append(.typeVar(name: identifier(t), bound: bound, range: range(from: start)))
            }
            if accept(.comma) == nil { break }
        }
        if params.isEmpty { error("Type parameter list cannot be empty") }
        expect(.rsqb, "]")
        return params
    }

    /// if_stmt: 'if' named_expression block elif_stmt* [else_block]
    mutating func parseIf() -> Stmt {
        let ifToken = advance()
        let test = parseNamedExpression()
        let body = parseBlock(after: "'if' statement", line: line(of: ifToken))
        return Stmt(.if(test: test, body: body, orelse: parseElif()), range(from: ifToken.range.start))
    }

    mutating func parseElif() -> [Stmt] {
        if kind == .kwElif {
            let elifToken = advance()
            let test = parseNamedExpression()
            let body = parseBlock(after: "'elif' statement", line: line(of: elifToken))
            let orelse = parseElif()
            return [Stmt(.if(test: test, body: body, orelse: orelse), range(from: elifToken.range.start))]
        }
        return parseElse()
    }

    /// else_block: 'else' block
    mutating func parseElse() -> [Stmt] {
        guard kind == .kwElse else { return [] }
        let elseToken = advance()
        return parseBlock(after: "'else' statement", line: line(of: elseToken))
    }

    /// while_stmt: 'while' named_expression block [else_block]
    mutating func parseWhile() -> Stmt {
        let whileToken = advance()
        let test = parseNamedExpression()
        let body = parseBlock(after: "'while' statement", line: line(of: whileToken))
        return Stmt(.while(test: test, body: body, orelse: parseElse()), range(from: whileToken.range.start))
    }

    /// for_stmt: ['async'] 'for' star_targets 'in' star_expressions block [else_block]
    mutating func parseFor(start: UInt32, isAsync: Bool) -> Stmt {
        let forToken = advance()
        let target = parseForTarget()
        expect(.kwIn, "in")
        let iter = parseStarExpressions()
        let body = parseBlock(after: "'for' statement", line: line(of: forToken))
        let orelse = parseElse()
        return Stmt(.for(target: target, iter: iter, body: body, orelse: orelse, isAsync: isAsync), range(from: start))
    }

    /// with_stmt: ['async'] 'with' ( '(' with_item (',' with_item)* [','] ')' | with_item (',' with_item)* ) ':' block
    mutating func parseWith(start: UInt32, isAsync: Bool) -> Stmt {
        let withToken = advance()
        var items: [WithItem] = []
        if kind == .lpar, let parenthesized = parseParenthesizedWithItems() {
            items = parenthesized
        } else {
            repeat {
                items.append(parseWithItem())
            } while accept(.comma) != nil && !recovering
        }
        let body = parseBlock(after: "'with' statement", line: line(of: withToken))
        return Stmt(.with(items: items, body: body, isAsync: isAsync), range(from: start))
    }

    /// Tries `'(' with_item, … ')' ':'`; restores the position and returns nil if that is not what follows.
    mutating func parseParenthesizedWithItems() -> [WithItem]? {
        let saved = (p, diagnostics.count, recovering)
        advance()
        var items: [WithItem] = []
        while kind != .rpar {
            items.append(parseWithItem())
            if accept(.comma) == nil { break }
        }
        if !recovering && accept(.rpar) != nil && kind == .colon && !items.isEmpty {
            return items
        }
        (p, recovering) = (saved.0, saved.2)
        diagnostics.removeSubrange(saved.1...)
        return nil
    }

    /// with_item: expression ['as' star_target]
    mutating func parseWithItem() -> WithItem {
        let context = parseExpression()
        var vars: Expr?
        if accept(.kwAs) != nil {
            vars = toTarget(parseTargetAtom(), context: .store)
        }
        return WithItem(contextExpr: context, optionalVars: vars)
    }

    /// try_stmt: 'try' block (finally_block | except_block+ [else_block] [finally_block] | except_star_block+ …)
    mutating func parseTry() -> Stmt {
        let tryToken = advance()
        let body = parseBlock(after: "'try' statement", line: line(of: tryToken))
        var handlers: [ExceptHandler] = []
        var isStar = false
        while kind == .kwExcept {
            let exceptToken = advance()
            if accept(.star) != nil { isStar = true }
            var type: Expr?
            var name: String?
            if kind != .colon {
                type = parseExpression()
                if kind == .comma {
                    let startOfTuple = type!.range.start
                    var elts = [type!]
                    while accept(.comma) != nil && kind != .colon && kind != .kwAs {
                        elts.append(parseExpression())
                    }
                    error("multiple exception types must be parenthesized", at: SourceRange(start: startOfTuple, end: lastEnd))
                    type = Expr(.tuple(elts: elts, ctx: .load), range(from: startOfTuple))
                }
                if accept(.kwAs) != nil, let t = expect(.name, "name") { name = identifier(t) }
            }
            let handlerBody = parseBlock(after: "'except' statement", line: line(of: exceptToken))
            handlers.append(ExceptHandler(type: type, name: name, body: handlerBody, range: range(from: exceptToken.range.start)))
        }
        let orelse = parseElse()
        var finalbody: [Stmt] = []
        if kind == .kwFinally {
            let finallyToken = advance()
            finalbody = parseBlock(after: "'finally' statement", line: line(of: finallyToken))
        }
        if handlers.isEmpty && finalbody.isEmpty {
            error("expected 'except' or 'finally' block")
        }
        return Stmt(
            .try(body: body, handlers: handlers, orelse: orelse, finalbody: finalbody, isStar: isStar),
            range(from: tryToken.range.start))
    }
}
