/// The request rate a function's configuration is planned for, from the arrivals counted at each
/// control tick, averaged over two windows as Knative's autoscaler averages concurrency: a stable
/// window (60 s) and a panic window (6 s). The rate to plan for is the larger: a rise is followed
/// within the panic window, a fall only once the stable window has seen it, so that a lull of a
/// few seconds in steady traffic (one-second counts of a Poisson stream at 4 requests/s are 0 one
/// time in 55) does not shrink what took a cold start to grow. Over less history than a window,
/// the rate is over the history there is.
public struct DemandEstimate: Sendable {
    /// The long window.
    public let stableWindow: Duration
    /// The short window.
    public let panicWindow: Duration
    /// Arrivals counted over each tick: when the tick ended, its length and its count.
    private var ticks = TimeOrdered<(at: Moment, length: Duration, arrivals: Double)>()
    /// The rate to plan for: the larger of the stable and the panic window's (0 before any tick),
    /// computed as each tick is recorded.
    public private(set) var planned = 0.0

    /// An estimate over these windows (each at least a millisecond; the panic window at most the
    /// stable one).
    public init(stableWindow: Duration = .seconds(60), panicWindow: Duration = .seconds(6)) {
        self.stableWindow = max(stableWindow, .milliseconds(1))
        self.panicWindow = min(max(panicWindow, .milliseconds(1)), self.stableWindow)
    }

    /// Adds the `arrivals` counted over the tick of `length` ending at `now` (negative and
    /// non-finite counts as none).
    public mutating func record(arrivals: Double, over length: Duration, at instant: ContinuousClock.Instant) {
        let now = Moment(instant)
        guard length > .zero else { return }
        ticks.append((now, length, arrivals.isFinite ? min(max(arrivals, 0), 1e12) : 0))
        let cutoff = now.advanced(by: .zero - stableWindow)
        while let first = ticks.first, first.at <= cutoff { ticks.removeFirst() }
        planned = max(rate(over: stableWindow) ?? 0, rate(over: panicWindow) ?? 0)
    }

    /// Arrivals per second over the last `window` of ticks (the history there is, when shorter);
    /// nil before the first tick.
    public func rate(over window: Duration) -> Double? {
        guard let newest = ticks.last?.at else { return nil }
        let cutoff = newest.advanced(by: .zero - window)
        var arrivals = 0.0
        var span = Duration.zero
        for tick in ticks.reversed() {
            if tick.at <= cutoff { break }
            arrivals += tick.arrivals
            span += tick.length
        }
        return span > .zero ? arrivals / span.inSeconds : nil
    }

    /// Whether a tick has been counted.
    public var measured: Bool { !ticks.isEmpty }

}
