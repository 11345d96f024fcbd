public import Foundation

/// The lines of a function's logs and their times. Instances stamp each line they print
/// (`TimestampedLines` in the shim) and the platform's notes are stamped the same way:
/// `2026-12-07T23:40:01.123Z ` (UTC, milliseconds), so the text order of stamps is their time
/// order. A line with no stamp (a traceback's continuation, what native code writes) takes the
/// time of the stamped line above it.
public enum LogLines {
    /// `2026-12-07T23:40:01.123Z`.
    public static func stamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// The stamp of an ISO 8601 time given with or without fractional seconds (nil if it is none).
    public static func stamp(parsing text: String) -> String? {
        let date = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
        return date.map(stamp)
    }

    /// The stamp a line begins with, if it begins with one.
    static func stamp(of line: Substring) -> Substring? {
        let bytes = line.utf8
        guard bytes.count >= 25 else { return nil }
        let prefix = Array(bytes.prefix(25))
        func digit(_ i: Int) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(prefix[i]) }
        let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22]
        guard digits.allSatisfy(digit), prefix[4] == UInt8(ascii: "-"), prefix[10] == UInt8(ascii: "T"), prefix[19] == UInt8(ascii: "."),
            prefix[23] == UInt8(ascii: "Z"), prefix[24] == UInt8(ascii: " ")
        else { return nil }
        return line.prefix(24)
    }

    /// The lines of several logs at or after `since` (a stamp), in time order, each as
    /// `STAMP SOURCE | text` where SOURCE names its log (`i3`, `gaia`). Lines from before the
    /// first stamp of their log are left out: their time is unknown.
    public static func merged(_ logs: [(source: String, text: String)], since: String) -> [String] {
        var lines: [(stamp: Substring, order: Int, text: String)] = []
        for (source, text) in logs {
            var current: Substring?
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
                let body: Substring
                if let stamp = stamp(of: line) {
                    current = stamp
                    body = line.dropFirst(25)
                } else {
                    body = line
                }
                guard let current, current >= since else { continue }
                lines.append((current, lines.count, "\(current) \(source) | \(body)"))
            }
        }
        return lines.sorted { ($0.stamp, $0.order) < ($1.stamp, $1.order) }.map(\.text)
    }
}
