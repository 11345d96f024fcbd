/// A latency objective: a statistic of recent latencies that must stay under a threshold, judged
/// over a window, optionally with a ceiling on what 1,000 invocations may cost.
public struct SLO: Sendable, Hashable, Codable, CustomStringConvertible {
    /// What a function without a declared SLO is held to: p95 under one second over 30 s (the
    /// bound of the published prototype), no cost ceiling.
    public static let `default` = SLO(statistic: .p95, thresholdMs: 1000)
    /// Which statistic of the latency distribution is held to the threshold.
    public enum Statistic: String, Sendable, Hashable, Codable, CaseIterable {
        case p50, p90, p95, p99, mean
    }

    /// The statistic.
    public var statistic: Statistic
    /// The threshold in milliseconds.
    public var thresholdMs: Double
    /// Seconds of recent invocations the statistic is computed over (nil: the controller's default, 30 s).
    public var windowSeconds: Double?
    /// Most that 1,000 invocations may cost, in USD (nil: no ceiling); rungs predicted to cost
    /// more are not chosen.
    public var maxCostPerThousand: Double?

    enum CodingKeys: String, CodingKey {
        case statistic
        case thresholdMs = "threshold_ms"
        case windowSeconds = "window_s"
        case maxCostPerThousand = "max_cost_per_1000_usd"
    }

    /// Creates an objective.
    public init(statistic: Statistic, thresholdMs: Double, windowSeconds: Double? = nil, maxCostPerThousand: Double? = nil) {
        self.statistic = statistic
        self.thresholdMs = thresholdMs
        self.windowSeconds = windowSeconds
        self.maxCostPerThousand = maxCostPerThousand
    }

    /// Parses `p95=300ms`, `p99=1.5s`, `mean=200ms` (a bare number means milliseconds), optionally
    /// followed by `,window=60s` and `,cost=0.05` (USD per 1,000 invocations).
    public init(parsing text: String) throws {
        let clauses = text.lowercased().split(separator: ",").map { String($0).trimmingSpaces }
        let parts = (clauses.first ?? "").split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
        guard parts.count == 2, let statistic = Statistic(rawValue: parts[0]) else {
            throw SLOError("'\(text)' is not an SLO: write STAT=LATENCY[,window=30s][,cost=USD], e.g. p95=300ms (STAT is one of \(Statistic.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.init(statistic: statistic, thresholdMs: try Self.milliseconds(parts[1]))
        for clause in clauses.dropFirst() {
            let kv = clause.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            switch (kv.first, kv.count) {
            case ("window", 2):
                let ms = try Self.milliseconds(kv[1])
                guard ms >= 1000 else { throw SLOError("window '\(kv[1])' is under one second: write e.g. window=30s") }
                windowSeconds = ms / 1000
            case ("cost", 2):
                guard let usd = Double(kv[1].hasPrefix("$") ? String(kv[1].dropFirst()) : kv[1]), usd > 0, usd <= 1e9 else {
                    throw SLOError("cost '\(kv[1])' is not an amount: write e.g. cost=0.05 (USD per 1,000 invocations)")
                }
                maxCostPerThousand = usd
            default:
                throw SLOError("'\(clause)' is not an SLO option: use window=DURATION or cost=USD")
            }
        }
    }

    private static func milliseconds(_ text: String) throws -> Double {
        var value = text
        var scale = 1.0
        if value.hasSuffix("ms") {
            value.removeLast(2)
        } else if value.hasSuffix("s") {
            value.removeLast()
            scale = 1000
        }
        guard let number = Double(value), number > 0, number.isFinite else {
            throw SLOError("'\(text)' is not a latency: write e.g. 300ms or 1.5s")
        }
        guard number * scale <= maxMilliseconds else {
            throw SLOError("'\(text)' is longer than a day, the most an SLO latency or window may be")
        }
        return number * scale
    }

    /// The longest latency threshold or window an SLO may state: one day.
    public static let maxMilliseconds = 86_400_000.0

    /// `p95=300ms`, with `,window=60s` and `,cost=0.05` when set.
    public var description: String {
        var text = "\(statistic.rawValue)=\(Self.trim(thresholdMs))ms"
        if let windowSeconds { text += ",window=\(Self.trim(windowSeconds))s" }
        if let maxCostPerThousand { text += ",cost=\(maxCostPerThousand)" }
        return text
    }

    private static func trim(_ x: Double) -> String {
        guard x == x.rounded(), let whole = Int(exactly: x) else { return String(x) }
        return String(whole)
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
