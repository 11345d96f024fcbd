/// A latency objective: a statistic of recent latencies that must stay under a threshold.
public struct SLO: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Which statistic of the latency distribution is held to the threshold.
    public enum Statistic: String, Sendable, Hashable, Codable, CaseIterable {
        case p50, p90, p95, p99, mean
    }

    /// The statistic.
    public var statistic: Statistic
    /// The threshold in milliseconds.
    public var thresholdMs: Double

    enum CodingKeys: String, CodingKey {
        case statistic
        case thresholdMs = "threshold_ms"
    }

    /// Creates an objective.
    public init(statistic: Statistic, thresholdMs: Double) {
        self.statistic = statistic
        self.thresholdMs = thresholdMs
    }

    /// Parses `p95=300ms`, `p99=1.5s`, `mean=200ms` (a bare number means milliseconds).
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
        guard parts.count == 2, let statistic = Statistic(rawValue: parts[0]) else {
            throw SLOError("'\(text)' is not an SLO: write STAT=LATENCY, e.g. p95=300ms (STAT is one of \(Statistic.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var value = parts[1]
        var scale = 1.0
        if value.hasSuffix("ms") {
            value.removeLast(2)
        } else if value.hasSuffix("s") {
            value.removeLast()
            scale = 1000
        }
        guard let number = Double(value), number > 0, number.isFinite else {
            throw SLOError("'\(parts[1])' is not a latency: write e.g. 300ms or 1.5s")
        }
        self.init(statistic: statistic, thresholdMs: number * scale)
    }

    /// `p95=300ms`.
    public var description: String {
        let ms = thresholdMs == thresholdMs.rounded() ? String(Int(thresholdMs)) : String(thresholdMs)
        return "\(statistic.rawValue)=\(ms)ms"
    }
}

/// A malformed SLO.
public struct SLOError: Error, CustomStringConvertible, Sendable {
    /// What was wrong.
    public let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
