public import BigInt

/// The parsed file: CPython's `ast.Module`.
public struct Module: Sendable {
    /// The top-level statements.
    public var body: [Stmt]
}

/// An expression node with its source range.
public struct Expr: Sendable {
    /// What the expression is.
    public var kind: ExprKind
    /// The bytes it covers.
    public var range: SourceRange

    /// Creates an expression.
    public init(_ kind: ExprKind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
    }
}

/// The expression kinds of CPython's `ast.expr`, with the same names and fields.
public indirect enum ExprKind: Sendable {
    case boolOp(op: BoolOperator, values: [Expr])
    case namedExpr(target: Expr, value: Expr)
    case binOp(left: Expr, op: Operator, right: Expr)
    case unaryOp(op: UnaryOperator, operand: Expr)
    case lambda(args: Arguments, body: Expr)
    case ifExp(test: Expr, body: Expr, orelse: Expr)
    case dict(keys: [Expr?], values: [Expr])
    case set(elts: [Expr])
    case listComp(elt: Expr, generators: [Comprehension])
    case setComp(elt: Expr, generators: [Comprehension])
    case dictComp(key: Expr, value: Expr, generators: [Comprehension])
    case generatorExp(elt: Expr, generators: [Comprehension])
    case await(value: Expr)
    case yield(value: Expr?)
    case yieldFrom(value: Expr)
    case compare(left: Expr, ops: [CmpOperator], comparators: [Expr])
    case call(func: Expr, args: [Expr], keywords: [Keyword])
    /// `conversion` is -1 (none) or the code of `s`, `r` or `a`.
    case formattedValue(value: Expr, conversion: Int, formatSpec: Expr?)
    case joinedStr(values: [Expr])
    /// `kind` is `"u"` for a string with the `u` prefix.
    case constant(value: Constant, kind: String?)
    case attribute(value: Expr, attr: String, ctx: ExprContext)
    case `subscript`(value: Expr, slice: Expr, ctx: ExprContext)
    case starred(value: Expr, ctx: ExprContext)
    case name(id: String, ctx: ExprContext)
    case list(elts: [Expr], ctx: ExprContext)
    case tuple(elts: [Expr], ctx: ExprContext)
    case slice(lower: Expr?, upper: Expr?, step: Expr?)
}

/// A literal value (`ast.Constant.value`).
public enum Constant: Sendable, Hashable {
    case none
    case bool(Bool)
    case ellipsis
    case int(BigInt)
    case float(Double)
    /// An imaginary literal such as `2j`: the imaginary part.
    case complex(Double)
    /// A string; lone surrogates from escapes are kept as code units in `PyString`.
    case str(PyString)
    case bytes([UInt8])
}

/// A Python `str` value: Unicode code points, lone surrogates included.
public struct PyString: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The code points, in order (may include U+D800...U+DFFF from escapes).
    public var codePoints: [UInt32]

    /// Creates a string from code points.
    public init(codePoints: [UInt32]) { self.codePoints = codePoints }

    /// Creates a string from Swift text.
    public init(_ text: String) { codePoints = text.unicodeScalars.map(\.value) }

    /// Creates a string from a literal.
    public init(stringLiteral value: String) { self.init(value) }

    /// The text, with any lone surrogate replaced by U+FFFD.
    public var description: String {
        var s = String.UnicodeScalarView()
        for c in codePoints { s.append(Unicode.Scalar(c) ?? "\u{FFFD}") }
        return String(s)
    }
}

/// Whether an expression is read, written or deleted.
public enum ExprContext: String, Sendable { case load = "Load", store = "Store", del = "Del" }

/// `and` / `or`.
public enum BoolOperator: String, Sendable { case and = "And", or = "Or" }

/// Binary operators.
public enum Operator: String, Sendable {
    case add = "Add", sub = "Sub", mult = "Mult", matMult = "MatMult", div = "Div", mod = "Mod"
    case pow = "Pow", lShift = "LShift", rShift = "RShift", bitOr = "BitOr", bitXor = "BitXor"
    case bitAnd = "BitAnd", floorDiv = "FloorDiv"
}

/// Unary operators.
public enum UnaryOperator: String, Sendable { case invert = "Invert", not = "Not", uAdd = "UAdd", uSub = "USub" }

/// Comparison operators.
public enum CmpOperator: String, Sendable {
    case eq = "Eq", notEq = "NotEq", lt = "Lt", ltE = "LtE", gt = "Gt", gtE = "GtE"
    case `is` = "Is", isNot = "IsNot", `in` = "In", notIn = "NotIn"
}

/// One `for … in … if …` clause (`ast.comprehension`).
public struct Comprehension: Sendable {
    /// The loop variable(s), in Store context.
    public var target: Expr
    /// The iterable.
    public var iter: Expr
    /// The `if` conditions, in order.
    public var ifs: [Expr]
    /// Whether it is `async for`.
    public var isAsync: Bool
}

/// A parameter list (`ast.arguments`).
public struct Arguments: Sendable {
    /// Parameters before `/`.
    public var posonlyargs: [Arg] = []
    /// Ordinary positional-or-keyword parameters.
    public var args: [Arg] = []
    /// The `*args` parameter.
    public var vararg: Arg?
    /// Parameters after `*` or `*args`.
    public var kwonlyargs: [Arg] = []
    /// One entry per keyword-only parameter; nil where it has no default.
    public var kwDefaults: [Expr?] = []
    /// The `**kwargs` parameter.
    public var kwarg: Arg?
    /// Defaults of the last positional parameters (posonly and ordinary).
    public var defaults: [Expr] = []
}

/// One parameter (`ast.arg`).
public struct Arg: Sendable {
    /// The parameter name.
    public var arg: String
    /// Its annotation, if any.
    public var annotation: Expr?
    /// The bytes it covers.
    public var range: SourceRange
}

/// A keyword argument in a call or class definition; `arg` is nil for `**kwargs`.
public struct Keyword: Sendable {
    /// The keyword; nil for `**mapping`.
    public var arg: String?
    /// The argument value.
    public var value: Expr
    /// The bytes it covers.
    public var range: SourceRange
}

/// A name in an import (`ast.alias`).
public struct Alias: Sendable {
    /// The imported (dotted) name, or `*`.
    public var name: String
    /// The `as` name, if any.
    public var asname: String?
    /// The bytes it covers.
    public var range: SourceRange
}

/// An item of a `with` statement.
public struct WithItem: Sendable {
    /// The context manager expression.
    public var contextExpr: Expr
    /// The `as` target, if any.
    public var optionalVars: Expr?
}

/// An `except` clause.
public struct ExceptHandler: Sendable {
    /// The exception type expression; nil for a bare `except:`.
    public var type: Expr?
    /// The `as` name, if any.
    public var name: String?
    /// The handler body.
    public var body: [Stmt]
    /// The bytes it covers.
    public var range: SourceRange
}

/// A type parameter (PEP 695).
public enum TypeParam: Sendable {
    case typeVar(name: String, bound: Expr?, range: SourceRange)
    case paramSpec(name: String, range: SourceRange)
    case typeVarTuple(name: String, range: SourceRange)
}

/// A `def` or `async def`.
public struct FunctionDef: Sendable {
    /// The function name.
    public var name: String
    /// The parameter list.
    public var args: Arguments
    /// The body.
    public var body: [Stmt]
    /// Decorators, outermost first.
    public var decoratorList: [Expr]
    /// The return annotation, if any.
    public var returns: Expr?
    /// PEP 695 type parameters.
    public var typeParams: [TypeParam]
    /// Whether it is `async def` (`AsyncFunctionDef` in CPython).
    public var isAsync: Bool
}

/// A `class` definition.
public struct ClassDef: Sendable {
    /// The class name.
    public var name: String
    /// Positional base-class expressions.
    public var bases: [Expr]
    /// Keyword arguments (`metaclass=`…).
    public var keywords: [Keyword]
    /// The body.
    public var body: [Stmt]
    /// Decorators, outermost first.
    public var decoratorList: [Expr]
    /// PEP 695 type parameters.
    public var typeParams: [TypeParam]
}

/// A statement node with its source range.
public struct Stmt: Sendable {
    /// What the statement is.
    public var kind: StmtKind
    /// The bytes it covers.
    public var range: SourceRange

    /// Creates a statement.
    public init(_ kind: StmtKind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
    }
}

/// The statement kinds of CPython's `ast.stmt`; async variants are flags.
public indirect enum StmtKind: Sendable {
    case functionDef(FunctionDef)
    case classDef(ClassDef)
    case `return`(value: Expr?)
    case delete(targets: [Expr])
    case assign(targets: [Expr], value: Expr)
    case typeAlias(name: Expr, typeParams: [TypeParam], value: Expr)
    case augAssign(target: Expr, op: Operator, value: Expr)
    case annAssign(target: Expr, annotation: Expr, value: Expr?, simple: Bool)
    case `for`(target: Expr, iter: Expr, body: [Stmt], orelse: [Stmt], isAsync: Bool)
    case `while`(test: Expr, body: [Stmt], orelse: [Stmt])
    case `if`(test: Expr, body: [Stmt], orelse: [Stmt])
    case with(items: [WithItem], body: [Stmt], isAsync: Bool)
    case match(subject: Expr, cases: [MatchCase])
    case raise(exc: Expr?, cause: Expr?)
    case `try`(body: [Stmt], handlers: [ExceptHandler], orelse: [Stmt], finalbody: [Stmt], isStar: Bool)
    case assert(test: Expr, msg: Expr?)
    case `import`(names: [Alias])
    case importFrom(module: String?, names: [Alias], level: Int)
    case global(names: [String])
    case nonlocal(names: [String])
    case expr(value: Expr)
    case pass
    case `break`
    case `continue`
}

/// One `case` of a `match` statement.
public struct MatchCase: Sendable {
    /// The pattern.
    public var pattern: Pattern
    /// The `if` guard (CPython's `guard`), if any.
    public var guardExpr: Expr?
    /// The body.
    public var body: [Stmt]
}

/// A pattern node with its source range.
public struct Pattern: Sendable {
    /// What the pattern is.
    public var kind: PatternKind
    /// The bytes it covers.
    public var range: SourceRange

    /// Creates a pattern.
    public init(_ kind: PatternKind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
    }
}

/// The pattern kinds of CPython's `ast.pattern`.
public indirect enum PatternKind: Sendable {
    case matchValue(value: Expr)
    case matchSingleton(value: Constant)
    case matchSequence(patterns: [Pattern])
    case matchMapping(keys: [Expr], patterns: [Pattern], rest: String?)
    case matchClass(cls: Expr, patterns: [Pattern], kwdAttrs: [String], kwdPatterns: [Pattern])
    case matchStar(name: String?)
    case matchAs(pattern: Pattern?, name: String?)
    case matchOr(patterns: [Pattern])
}
