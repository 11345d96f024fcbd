/// The request rate a function's configuration is planned for, from the arrivals counted at each
/// control tick, averaged over two windows as Knative's autoscaler averages concurrency: a stable
/// window (60 s) and a panic window (6 s). The rate to plan for is the larger: a rise is followed
/// within the panic window, a fall only once the stable window has seen it, so that a lull of a
/// few seconds in steady traffic (one-second counts of a Poisson stream at 4 requests/s are 0 one
/// time in 55) does not shrink what took a cold start to grow. Over less history than a window,
/// the rate is over the history there is.
public struct DemandEstimate: Sendable {
    /// The long window.
    public var stableWindow: Duration { stable.length }
    /// The short window.
    public var panicWindow: Duration { panic.length }
    private var stable: Window
    private var panic: Window
    /// The rate to plan for: the larger of the stable and the panic window's (0 before any tick),
    /// computed as each tick is recorded.
    public private(set) var planned = 0.0

    /// The ticks of one window, with their sums kept as they come and go (a sum over the window
    /// per tick per function was 2.7% of the simulator's time).
    private struct Window: Sendable {
        let length: Duration
        var ticks = TimeOrdered<(at: Moment, length: Duration, arrivals: Double)>()
        var arrivals = 0.0
        var span = Duration.zero

        init(length: Duration) { self.length = length }

        mutating func add(_ tick: (at: Moment, length: Duration, arrivals: Double)) {
            ticks.append(tick)
            arrivals += tick.arrivals
            span += tick.length
            let cutoff = tick.at.advanced(by: .zero - length)
            while let first = ticks.first, first.at <= cutoff {
                arrivals -= first.arrivals
                span -= first.length
                ticks.removeFirst()
            }
            if ticks.isEmpty { (arrivals, span) = (0, .zero) }  // no rounding carried over
        }

        /// Arrivals per second over the window's ticks; nil with none.
        var rate: Double? { span > .zero ? max(0, arrivals) / span.inSeconds : nil }
    }

    /// An estimate over these windows (each at least a millisecond; the panic window at most the
    /// stable one).
    public init(stableWindow: Duration = .seconds(60), panicWindow: Duration = .seconds(6)) {
        let stableLength = max(stableWindow, .milliseconds(1))
        stable = Window(length: stableLength)
        panic = Window(length: min(max(panicWindow, .milliseconds(1)), stableLength))
    }

    /// Adds the `arrivals` counted over the tick of `length` ending at `now` (negative and
    /// non-finite counts as none).
    public mutating func record(arrivals: Double, over length: Duration, at instant: ContinuousClock.Instant) {
        guard length > .zero else { return }
        let tick = (at: Moment(instant), length: length, arrivals: arrivals.isFinite ? min(max(arrivals, 0), 1e12) : 0)
        stable.add(tick)
        panic.add(tick)
        planned = max(stable.rate ?? 0, panic.rate ?? 0)
    }

    /// Arrivals per second over the stable window's ticks (the history there is, when shorter);
    /// nil before the first tick.
    public var stableRate: Double? { stable.rate }

    /// The same over the panic window.
    public var panicRate: Double? { panic.rate }

    /// Whether a tick has been counted.
    public var measured: Bool { !stable.ticks.isEmpty }
}
