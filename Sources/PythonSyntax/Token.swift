/// The kind of a Python token. Keywords get kinds of their own; soft keywords stay names.
public enum TokenKind: UInt8, Sendable {
    case name, number, string, fstringStart, fstringMiddle, fstringEnd
    case newline, indent, dedent, endMarker, error
    // Operators and delimiters.
    case lpar, rpar, lsqb, rsqb, lbrace, rbrace, colon, comma, semi
    case plus, minus, star, slash, vbar, amper, less, greater, equal, dot, percent
    case eqEqual, notEqual, lessEqual, greaterEqual, tilde, circumflex
    case leftShift, rightShift, doubleStar, doubleSlash, at, rarrow, ellipsis, colonEqual, exclamation
    case plusEqual, minEqual, starEqual, slashEqual, percentEqual, amperEqual, vbarEqual
    case circumflexEqual, leftShiftEqual, rightShiftEqual, doubleStarEqual, doubleSlashEqual, atEqual
    // Hard keywords.
    case kwFalse, kwNone, kwTrue, kwAnd, kwAs, kwAssert, kwAsync, kwAwait, kwBreak, kwClass
    case kwContinue, kwDef, kwDel, kwElif, kwElse, kwExcept, kwFinally, kwFor, kwFrom, kwGlobal
    case kwIf, kwImport, kwIn, kwIs, kwLambda, kwNonlocal, kwNot, kwOr, kwPass, kwRaise
    case kwReturn, kwTry, kwWhile, kwWith, kwYield

    /// The keyword kind for a name, if it is a hard keyword.
    static func keyword(_ name: String) -> TokenKind? { keywords[name] }

    private static let keywords: [String: TokenKind] = [
        "False": .kwFalse, "None": .kwNone, "True": .kwTrue, "and": .kwAnd, "as": .kwAs,
        "assert": .kwAssert, "async": .kwAsync, "await": .kwAwait, "break": .kwBreak,
        "class": .kwClass, "continue": .kwContinue, "def": .kwDef, "del": .kwDel, "elif": .kwElif,
        "else": .kwElse, "except": .kwExcept, "finally": .kwFinally, "for": .kwFor, "from": .kwFrom,
        "global": .kwGlobal, "if": .kwIf, "import": .kwImport, "in": .kwIn, "is": .kwIs,
        "lambda": .kwLambda, "nonlocal": .kwNonlocal, "not": .kwNot, "or": .kwOr, "pass": .kwPass,
        "raise": .kwRaise, "return": .kwReturn, "try": .kwTry, "while": .kwWhile, "with": .kwWith,
        "yield": .kwYield,
    ]

    /// Whether this is a hard keyword.
    public var isKeyword: Bool { rawValue >= TokenKind.kwFalse.rawValue }

    /// The augmented-assignment operator this token spells, if any.
    var augmentedOperator: Operator? {
        switch self {
        case .plusEqual: .add
        case .minEqual: .sub
        case .starEqual: .mult
        case .atEqual: .matMult
        case .slashEqual: .div
        case .percentEqual: .mod
        case .amperEqual: .bitAnd
        case .vbarEqual: .bitOr
        case .circumflexEqual: .bitXor
        case .leftShiftEqual: .lShift
        case .rightShiftEqual: .rShift
        case .doubleStarEqual: .pow
        case .doubleSlashEqual: .floorDiv
        default: nil
        }
    }
}

/// One token: its kind and the bytes it covers.
public struct Token: Sendable, Hashable {
    /// What the token is.
    public var kind: TokenKind
    /// The bytes it covers (empty for INDENT/DEDENT/ENDMARKER).
    public var range: SourceRange

    /// Creates a token.
    public init(_ kind: TokenKind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
    }
}
