extension Parser {
    /// match_stmt: "match" subject_expr ':' NEWLINE INDENT case_block+ DEDENT
    ///
    /// `match` is a soft keyword: when what follows is not a match statement, the position is
    /// restored and nil returned so the line parses as an ordinary statement.
    mutating func parseMatchStatement() -> Stmt? {
        let next = peek(1)
        if [.equal, .dot, .newline, .colon, .comma, .rpar, .endMarker, .semi].contains(next) || next.augmentedOperator != nil {
            return nil
        }
        let saved = (p, diagnostics.count, recovering)
        let matchToken = advance()
        let subject = parseSubject()
        guard !recovering, kind == .colon, peek(1) == .newline, peek(2) == .indent else {
            (p, recovering) = (saved.0, saved.2)
            diagnostics.removeSubrange(saved.1...)
            return nil
        }
        advance()
        advance()
        advance()
        var cases: [MatchCase] = []
        while kind != .dedent && kind != .endMarker {
            let before = p
            if kind == .newline {
                advance()
                continue
            }
            guard isSoftKeyword("case") else {
                error("expected 'case'")
                synchronize()
                recovering = false
                if p == before { advance() }
                continue
            }
            let caseToken = advance()
            let pattern = parsePatterns()
            let guardExpr = accept(.kwIf) != nil ? parseNamedExpression() : nil
            let body = parseBlock(after: "'case' statement", line: line(of: caseToken))
            cases.append(MatchCase(pattern: pattern, guardExpr: guardExpr, body: body))
            recovering = false
        }
        _ = accept(.dedent)
        return Stmt(.match(subject: subject, cases: cases), range(from: matchToken.range.start))
    }

    /// subject_expr: star_named_expression ',' star_named_expressions? | named_expression
    mutating func parseSubject() -> Expr {
        let first = parseStarNamedExpression()
        guard kind == .comma else { return first }
        var elts = [first]
        while accept(.comma) != nil && kind != .colon && !recovering {
            elts.append(parseStarNamedExpression())
        }
        return Expr(.tuple(elts: elts, ctx: .load), range(from: first.range.start))
    }

    /// patterns: open_sequence_pattern | pattern
    mutating func parsePatterns() -> Pattern {
        let start = token.range.start
        let first = parseMaybeStarPattern()
        guard kind == .comma else {
            if case .matchStar = first.kind { return Pattern(.matchSequence(patterns: [first]), first.range) }
            return first
        }
        var patterns = [first]
        while accept(.comma) != nil && kind != .colon && kind != .kwIf && !recovering {
            patterns.append(parseMaybeStarPattern())
        }
        return Pattern(.matchSequence(patterns: patterns), range(from: start))
    }

    /// maybe_star_pattern: star_pattern | pattern
    mutating func parseMaybeStarPattern() -> Pattern {
        if kind == .star {
            let start = advance().range.start
            guard let t = expect(.name, "name") else { return Pattern(.matchStar(name: nil), range(from: start)) }
            let name = identifier(t)
            return Pattern(.matchStar(name: name == "_" ? nil : name), range(from: start))
        }
        return parsePattern()
    }

    /// pattern: or_pattern 'as' NAME | or_pattern
    mutating func parsePattern() -> Pattern {
        guard let result = nested({ parser -> Pattern in
            let start = parser.token.range.start
            let orPattern = parser.parseOrPattern()
            guard parser.accept(.kwAs) != nil else { return orPattern }
            guard let t = parser.expect(.name, "name") else { return orPattern }
            let name = parser.identifier(t)
            if name == "_" { parser.error("cannot use '_' as a target", at: t.range) }
            return Pattern(.matchAs(pattern: orPattern, name: name), parser.range(from: start))
        }) else { return Pattern(.matchAs(pattern: nil, name: nil), token.range) }
        return result
    }

    /// or_pattern: '|'.closed_pattern+
    mutating func parseOrPattern() -> Pattern {
        let first = parseClosedPattern()
        guard kind == .vbar else { return first }
        var patterns = [first]
        while accept(.vbar) != nil && !recovering { patterns.append(parseClosedPattern()) }
        return Pattern(.matchOr(patterns: patterns), range(from: first.range.start))
    }

    /// closed_pattern: literal | capture | wildcard | value | group | sequence | mapping | class
    mutating func parseClosedPattern() -> Pattern {
        let start = token.range.start
        switch kind {
        case .kwNone:
            advance()
            return Pattern(.matchSingleton(value: .none), range(from: start))
        case .kwTrue, .kwFalse:
            let value = advance().kind == .kwTrue
            return Pattern(.matchSingleton(value: .bool(value)), range(from: start))
        case .number, .minus:
            return Pattern(.matchValue(value: parseSignedNumberPattern()), range(from: start))
        case .string, .fstringStart:
            let value = parseStrings()
            if case .joinedStr = value.kind { error("patterns may only match literals and attribute lookups", at: value.range) }
            return Pattern(.matchValue(value: value), range(from: start))
        case .lpar, .lsqb:
            let close: TokenKind = advance().kind == .lpar ? .rpar : .rsqb
            var patterns: [Pattern] = []
            var sawComma = false
            while kind != close && kind != .endMarker && !recovering {
                patterns.append(parseMaybeStarPattern())
                if accept(.comma) == nil { break }
                sawComma = true
            }
            expect(close, close == .rpar ? ")" : "]")
            if close == .rpar && patterns.count == 1 && !sawComma {
                if case .matchStar = patterns[0].kind {} else { return patterns[0] }
            }
            return Pattern(.matchSequence(patterns: patterns), range(from: start))
        case .lbrace:
            return parseMappingPattern()
        case .name:
            let nameToken = token
            if peek(1) != .dot && peek(1) != .lpar {
                advance()
                let name = identifier(nameToken)
                return Pattern(.matchAs(pattern: nil, name: name == "_" ? nil : name), nameToken.range)
            }
            let value = parseDottedNamePattern()
            if kind == .lpar { return parseClassPattern(cls: value) }
            return Pattern(.matchValue(value: value), range(from: start))
        default:
            error("invalid syntax")
            return Pattern(.matchAs(pattern: nil, name: nil), token.range)
        }
    }

    /// A dotted name in a pattern: a value pattern or a class pattern's class.
    mutating func parseDottedNamePattern() -> Expr {
        let first = advance()
        var e = Expr(.name(id: identifier(first), ctx: .load), first.range)
        while accept(.dot) != nil {
            guard let t = expect(.name, "name") else { break }
            e = Expr(.attribute(value: e, attr: identifier(t), ctx: .load), range(from: first.range.start))
        }
        return e
    }

    /// signed_number ['+' | '-' NUMBER]: literal numbers and complex literals in patterns.
    mutating func parseSignedNumberPattern() -> Expr {
        let start = token.range.start
        var value: Expr
        if accept(.minus) != nil {
            guard let t = expect(.number, "number") else { return errorExpr() }
            let operand = Expr(.constant(value: numberValue(t), kind: nil), t.range)
            value = Expr(.unaryOp(op: .uSub, operand: operand), range(from: start))
        } else {
            let t = advance()
            value = Expr(.constant(value: numberValue(t), kind: nil), t.range)
        }
        if kind == .plus || kind == .minus {
            let op: Operator = advance().kind == .plus ? .add : .sub
            guard let t = expect(.number, "number") else { return value }
            let right = Expr(.constant(value: numberValue(t), kind: nil), t.range)
            value = Expr(.binOp(left: value, op: op, right: right), range(from: start))
        }
        return value
    }

    /// mapping_pattern: '{' [items_pattern] [',' '**' NAME] [','] '}'
    mutating func parseMappingPattern() -> Pattern {
        let start = advance().range.start
        var keys: [Expr] = []
        var patterns: [Pattern] = []
        var rest: String?
        while kind != .rbrace && kind != .endMarker && !recovering {
            if accept(.doubleStar) != nil {
                if let t = expect(.name, "name") { rest = identifier(t) }
            } else {
                let key: Expr
                switch kind {
                case .number, .minus: key = parseSignedNumberPattern()
                case .string, .fstringStart: key = parseStrings()
                case .kwNone, .kwTrue, .kwFalse: key = parseAtom()
                case .name: key = parseDottedNamePattern()
                default:
                    error("invalid syntax")
                    key = errorExpr()
                }
                expect(.colon, ":")
                keys.append(key)
                patterns.append(parsePattern())
            }
            if accept(.comma) == nil { break }
        }
        expect(.rbrace, "}")
        return Pattern(.matchMapping(keys: keys, patterns: patterns, rest: rest), range(from: start))
    }

    /// class_pattern: name_or_attr '(' [positional_patterns] [',' keyword_patterns] [','] ')'
    mutating func parseClassPattern(cls: Expr) -> Pattern {
        advance()
        var patterns: [Pattern] = []
        var kwdAttrs: [String] = []
        var kwdPatterns: [Pattern] = []
        while kind != .rpar && kind != .endMarker && !recovering {
            if kind == .name && peek(1) == .equal {
                let t = advance()
                advance()
                kwdAttrs.append(identifier(t))
                kwdPatterns.append(parsePattern())
            } else {
                let pattern = parsePattern()
                if !kwdAttrs.isEmpty {
                    error("positional patterns follow keyword patterns", at: pattern.range)
                }
                patterns.append(pattern)
            }
            if accept(.comma) == nil { break }
        }
        expect(.rpar, ")")
        return Pattern(
            .matchClass(cls: cls, patterns: patterns, kwdAttrs: kwdAttrs, kwdPatterns: kwdPatterns),
            range(from: cls.range.start))
    }
}
