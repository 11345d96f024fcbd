/// A problem found while reading Python source: where it is and what is wrong.
public struct Diagnostic: Sendable, Hashable {
    /// Where the problem is.
    public var range: SourceRange
    /// What is wrong, in CPython's words where it has them.
    public var message: String

    /// Creates a diagnostic.
    public init(_ message: String, at range: SourceRange) {
        self.message = message
        self.range = range
    }

    /// `file:line:column: error: message`, with a 1-based column.
    public func formatted(file: String, lines: LineTable) -> String {
        "\(file):\(lines.location(of: range)): error: \(message)"
    }
}
