/// A half-open range of UTF-8 byte offsets into a source file.
public struct SourceRange: Sendable, Hashable {
    /// Offset of the first byte.
    public var start: UInt32
    /// Offset one past the last byte.
    public var end: UInt32

    /// Creates a range from byte offsets.
    public init(start: UInt32, end: UInt32) {
        self.start = start
        self.end = end
    }

    /// Creates a range from `Int` byte offsets.
    public init(_ start: Int, _ end: Int) {
        self.start = UInt32(truncatingIfNeeded: start)
        self.end = UInt32(truncatingIfNeeded: end)
    }

    /// The smallest range covering both.
    public func union(_ other: SourceRange) -> SourceRange {
        SourceRange(start: min(start, other.start), end: max(end, other.end))
    }
}

/// A position in a file as CPython reports it: 1-based line, 0-based UTF-8 column.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    /// 0-based column in UTF-8 bytes (CPython's `col_offset`).
    public var column: Int

    /// Creates a location.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line:column` with a 1-based column, as compilers print it.
    public var description: String { "\(line):\(column + 1)" }
}

/// Maps byte offsets to lines and columns; built once per file.
public struct LineTable: Sendable {
    /// Byte offset at which each line starts; `lineStarts[0] == 0`.
    public let lineStarts: [Int]

    /// Builds the table for UTF-8 bytes; `\n`, `\r\n` and lone `\r` end lines.
    public init(_ bytes: [UInt8]) {
        var starts = [0]
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b == 0x0A {
                starts.append(i + 1)
            } else if b == 0x0D {
                if i + 1 < n, bytes[i + 1] == 0x0A { i += 1 }
                starts.append(i + 1)
            }
            i += 1
        }
        lineStarts = starts
        lineCount = starts.last == bytes.count ? starts.count - 1 : starts.count
    }

    /// Number of lines, not counting the empty position after a final newline (as `wc -l` would, plus
    /// one for a last line without a newline).
    public let lineCount: Int

    /// The location of a byte offset.
    public func location(of offset: Int) -> SourceLocation {
        var lo = 0
        var hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return SourceLocation(line: lo + 1, column: offset - lineStarts[lo])
    }

    /// The location of a range's start.
    public func location(of range: SourceRange) -> SourceLocation {
        location(of: Int(range.start))
    }
}
