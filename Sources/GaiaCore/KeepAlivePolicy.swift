/// How long an idle function keeps an instance, and whether it pre-warms one before the next
/// request is expected; per function (`keep_alive`, `prewarm` in its deploy).
public struct KeepAliveSettings: Sendable, Hashable, Codable {
    /// Adaptive windows from the function's idle-time histogram, or one fixed keep-alive.
    public enum Mode: Sendable, Hashable, Codable, CustomStringConvertible {
        /// Windows from the histogram ("Serverless in the Wild", ATC'20), with `fallback` while it
        /// has too little history or no clear pattern.
        case adaptive
        /// Keep an idle instance this long, then scale to zero.
        case fixed(seconds: Double)

        /// `adaptive` or `fixed(600s)`.
        public var description: String {
            switch self {
            case .adaptive: "adaptive"
            case .fixed(let s): "fixed(\(s == s.rounded() ? Int(exactly: s).map(String.init) ?? String(s) : String(s))s)"
            }
        }

        /// Parses `adaptive`, `fixed(600s)`, `fixed(10m)`, `600s` or `600`.
        public init(parsing text: String) throws {
            let t = text.lowercased().filter { $0 != " " }
            if t == "adaptive" {
                self = .adaptive
                return
            }
            var body = t
            if body.hasPrefix("fixed(") && body.hasSuffix(")") { body = String(body.dropFirst(6).dropLast()) }
            var scale = 1.0
            if body.hasSuffix("ms") {
                body.removeLast(2)
                scale = 0.001
            } else if body.hasSuffix("s") {
                body.removeLast()
            } else if body.hasSuffix("m") {
                body.removeLast()
                scale = 60
            } else if body.hasSuffix("h") {
                body.removeLast()
                scale = 3600
            }
            guard let n = Double(body), n >= 0, n.isFinite else {
                throw KeepAliveError(description: "'\(text)' is not a keep-alive: write adaptive or fixed(SECONDS), e.g. fixed(600s) or fixed(10m)")
            }
            guard n * scale <= Self.maxSeconds else {
                throw KeepAliveError(description: "'\(text)' is longer than 30 days, the longest keep-alive")
            }
            self = .fixed(seconds: n * scale)
        }

        /// The longest fixed keep-alive: 30 days.
        public static let maxSeconds = 30 * 86_400.0

        /// For a value read from the store or built in code: the fixed keep-alive as a duration,
        /// clamped so that no number traps.
        var fixedDuration: Duration? {
            if case .fixed(let seconds) = self { return .clamped(seconds: min(seconds, Self.maxSeconds)) }
            return nil
        }
    }

    /// Adaptive or fixed.
    public var mode: Mode = .adaptive
    /// Whether an instance is started shortly before the next request is expected (adaptive only).
    public var prewarm = true
    /// Keep-alive while the histogram has too little history or no clear pattern (10 minutes, as
    /// AWS Lambda's fixed policy).
    public var fallback: Duration = .seconds(600)
    /// Idle times needed before the histogram is trusted.
    public var minHistory = 10
    /// Width of one histogram bucket.
    public var bucket: Duration = .seconds(1)
    /// Idle times longer than this fall outside the histogram (ATC'20: 4 hours).
    public var range: Duration = .seconds(4 * 3600)
    /// Pre-warm this fraction earlier, and keep alive this fraction longer, than the percentiles.
    public var margin = 0.1
    /// Shortest keep-alive the histogram may set (back-to-back traffic has idle times near zero,
    /// which would otherwise unload the instance a second after each request).
    public var minKeepAlive: Duration = .seconds(60)
    /// Pre-warm windows shorter than this are not worth unloading for: keep the instance instead.
    public var minPrewarm: Duration = .seconds(10)
    /// More than this fraction of idle times outside the range means no usable pattern.
    public var maxOutOfRange = 0.5

    /// The defaults: adaptive with pre-warming.
    public init() {}

    /// Sets the keep-alive used while there is no usable history (and the shortest the histogram
    /// may set, where that is shorter): the server-wide `keep_alive_seconds`.
    public mutating func useDefaultKeepAlive(_ keepAlive: Duration) {
        fallback = keepAlive
        minKeepAlive = min(minKeepAlive, keepAlive)
    }
}

/// A malformed keep-alive setting.
public struct KeepAliveError: Error, CustomStringConvertible, Sendable {
    /// What was wrong.
    public let description: String
}

/// When to unload an idle instance and when to load one again, for one function.
public struct KeepAliveWindows: Sendable, Hashable {
    /// After an invocation ends, keep no instance for this long, then pre-warm one (zero: keep the
    /// instance from the end of the invocation).
    public var prewarm: Duration
    /// Keep the (pre-warmed or kept) instance this long after `prewarm`, then scale to zero.
    public var keepAlive: Duration
    /// Where the windows came from (worded only when asked: they are recomputed at every idle time).
    var basis: Basis

    enum Basis: Sendable, Hashable {
        case fixed
        case tooFew(history: Int, fallback: Duration)
        case outOfRange(outside: Int, history: Int, range: Duration, fallback: Duration)
        case histogram(history: Int, p5: Double, p99: Double)
    }

    /// One line: where the windows came from.
    public var reason: String {
        switch basis {
        case .fixed: "fixed keep-alive"
        case .tooFew(let history, let fallback): "\(history) idle times, too few: fixed \(fallback)"
        case .outOfRange(let outside, let history, let range, let fallback): "\(outside) of \(history) idle times exceed \(range): fixed \(fallback)"
        case .histogram(let history, let p5, let p99): "idle-time histogram of \(history): 5th percentile \(Int(p5)) s, 99th \(Int(p99)) s"
        }
    }
}

/// The hybrid-histogram keep-alive policy of "Serverless in the Wild" (ATC'20): a per-function
/// histogram of idle times (from the end of one invocation to the start of the next); pre-warm at
/// the 5th percentile and keep alive to the 99th (with a margin); a fixed keep-alive while there is
/// too little history or when most idle times fall outside the histogram's range. A value; time is
/// an input.
public struct KeepAlivePolicy: Sendable, Hashable {
    /// Its settings.
    public var settings: KeepAliveSettings
    /// Idle-time counts per bucket index, by index (few distinct buckets are ever used).
    private var histogram: [Bucket] = []

    private struct Bucket: Sendable, Hashable {
        var index: Int
        var count: Int
    }
    private var inRange = 0
    private var outOfRange = 0
    private var lastEnd: Moment?
    private var running = 0
    /// The windows, recomputed when the histogram changes.
    public private(set) var windows: KeepAliveWindows

    /// Whether `lastEnd` is the moment the function was loaded rather than a request's end.
    private var sinceLoad = false

    /// A policy with no history; with `loadedAt`, the instance started then (a deploy) is kept as
    /// if a request had just ended, without that first wait counting as an idle time.
    public init(settings: KeepAliveSettings = KeepAliveSettings(), loadedAt: ContinuousClock.Instant? = nil) {
        self.settings = settings
        self.lastEnd = loadedAt.map(Moment.init)
        self.sinceLoad = loadedAt != nil
        self.windows = KeepAliveWindows(prewarm: .zero, keepAlive: .zero, basis: .fixed)
        self.windows = computeWindows()
    }

    /// Idle times recorded.
    public var history: Int { inRange + outOfRange }

    /// A request arrived: the idle time since the previous one ended goes into the histogram.
    public mutating func arrival(at now: ContinuousClock.Instant) { arrival(at: Moment(now)) }

    mutating func arrival(at now: Moment) {
        // Arrivals are reported when their invocations end, so one may predate the last end seen:
        // that is an overlap, not an idle time.
        if running == 0, let end = lastEnd, !sinceLoad, now >= end {
            let idle = now - end
            if idle < settings.range {
                count(bucket: Int(idle.seconds / settings.bucket.seconds))
                inRange += 1
            } else {
                outOfRange += 1
            }
            windows = computeWindows()
        }
        sinceLoad = false
        running += 1
    }

    /// A request finished.
    public mutating func completion(at now: ContinuousClock.Instant) { completion(at: Moment(now)) }

    mutating func completion(at now: Moment) {
        running = max(0, running - 1)
        if running == 0 { lastEnd = max(now, lastEnd ?? now) }
    }

    /// How long no request has run at `now` (since the last ended, or since the function was
    /// loaded); nil while one runs or before anything happened.
    public func idle(at now: ContinuousClock.Instant) -> Duration? {
        guard running == 0, let end = lastEnd else { return nil }
        return max(.zero, Moment(now) - end)
    }

    private func computeWindows() -> KeepAliveWindows {
        let s = settings
        if let keepAlive = s.mode.fixedDuration {
            return KeepAliveWindows(prewarm: .zero, keepAlive: keepAlive, basis: .fixed)
        }
        guard history >= s.minHistory else {
            return KeepAliveWindows(prewarm: .zero, keepAlive: s.fallback, basis: .tooFew(history: history, fallback: s.fallback))
        }
        guard Double(outOfRange) / Double(history) <= s.maxOutOfRange, let p5 = percentile(0.05), let p99 = percentile(0.99) else {
            return KeepAliveWindows(
                prewarm: .zero, keepAlive: s.fallback, basis: .outOfRange(outside: outOfRange, history: history, range: s.range, fallback: s.fallback))
        }
        let head = p5 * (1 - s.margin)
        let tail = p99 * (1 + s.margin) + s.bucket.seconds  // the whole bucket holding the 99th percentile
        let prewarm = s.prewarm && head >= s.minPrewarm.seconds ? head : 0
        return KeepAliveWindows(
            prewarm: .clamped(seconds: prewarm), keepAlive: max(.clamped(seconds: tail - prewarm), s.minKeepAlive),
            basis: .histogram(history: history, p5: p5, p99: p99))
    }

    /// One more idle time in bucket `index`.
    private mutating func count(bucket index: Int) {
        var low = 0
        var high = histogram.count
        while low < high {
            let mid = (low + high) / 2
            if histogram[mid].index < index { low = mid + 1 } else { high = mid }
        }
        if low < histogram.count, histogram[low].index == index {
            histogram[low].count += 1
        } else {
            histogram.insert(Bucket(index: index, count: 1), at: low)
        }
    }

    /// The `q` quantile of the in-range idle times, in seconds (a bucket's lower edge).
    private func percentile(_ q: Double) -> Double? {
        guard inRange > 0 else { return nil }
        let rank = max(1, Int((q * Double(inRange)).rounded(.up)))
        var seen = 0
        for bucket in histogram {
            seen += bucket.count
            if seen >= rank { return Double(bucket.index) * settings.bucket.seconds }
        }
        return nil
    }

    /// Whether an instance should be loaded at `now` when none is running a request: within the
    /// keep-alive (or after the pre-warm point and before the keep-alive ends).
    public func wantsInstance(at now: ContinuousClock.Instant) -> Bool {
        if running > 0 { return true }
        guard let end = lastEnd else { return false }
        let w = windows
        let idle = max(.zero, Moment(now) - end)
        return idle >= w.prewarm && idle < w.prewarm + w.keepAlive
    }
}

extension Duration {
    /// A short reading for decision reasons: `850 ms`, `13 s`, `2.5 min`, `1.2 h`.
    public var short: String {
        let s = seconds
        if s < 1 { return "\(Int((s * 1000).rounded())) ms" }
        if s < 120 { return s < 10 ? "\((s * 10).rounded() / 10) s" : "\(Int(s.rounded())) s" }
        if s < 7200 { return "\((s / 6).rounded() / 10) min" }
        return "\((s / 360).rounded() / 10) h"
    }

    /// The duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
