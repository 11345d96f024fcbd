/// Horizontal autoscaling settings, per function (Knative KPA's knobs, with its defaults).
public struct AutoscalerSettings: Sendable, Hashable, Codable {
    /// Concurrent requests one instance should carry on average (Knative: 70% of a
    /// container-concurrency of 1).
    public var targetConcurrency: Double = 0.7
    /// Window averaged for normal decisions.
    public var stableWindow: Duration = .seconds(60)
    /// Window averaged to detect bursts (Knative: 10% of the stable window).
    public var panicWindow: Duration = .seconds(6)
    /// Enter panic mode when the panic window asks for this many times the current instances.
    public var panicThreshold: Double = 2.0
    /// Fewest instances, also while idle; 0 allows scale to zero.
    public var minScale: Int = 0
    /// Most instances.
    public var maxScale: Int = 10
    /// At most this many times the current instances in one step up.
    public var maxScaleUpRate: Double = 1000
    /// At most the current instances divided by this in one step down.
    public var maxScaleDownRate: Double = 2

    /// The defaults.
    public init() {}

    /// Most instances of one function anywhere: the API refuses more.
    public static let instanceCeiling = 1000

    /// The instance counts allowed: `minScale...maxScale` within `0...instanceCeiling`, with
    /// crossed bounds resolved to the maximum (a minimum above it is lowered to it). Every bound the
    /// controllers apply comes from here, so that no setting, however it got in, can make an empty
    /// range.
    public var scaleBounds: ClosedRange<Int> {
        let upper = min(max(maxScale, 0), Self.instanceCeiling)
        return min(max(minScale, 0), upper)...upper
    }
}

/// A decision of the autoscaler: how many instances, and why.
public struct ScaleDecision: Sendable, Hashable {
    /// Instances wanted now.
    public var desired: Int
    /// Whether the burst (panic) mode is on.
    public var panicking: Bool
    /// What the figures were, for `reason`: kept as values and worded only when asked (the
    /// controller evaluates every function every tick; most decisions change nothing).
    enum Basis: Sendable, Hashable {
        case noObservations
        case panic(concurrency: Double, window: Duration, wants: Int)
        case stable(concurrency: Double, window: Duration, wants: Int)
    }
    var basis: Basis
    var cappedUp: Int?
    var heldDown: Int?
    var clampedTo: ClosedRange<Int>?

    /// One line for the decision log.
    public var reason: String {
        var text: String
        switch basis {
        case .noObservations: text = "no observations yet: keep \(desired)"
        case .panic(let c, let window, let wants): text = "panic: \(Self.fmt(c)) concurrent over \(window) wants \(wants)"
        case .stable(let c, let window, let wants): text = "stable: \(Self.fmt(c)) concurrent over \(window) wants \(wants)"
        }
        if let up = cappedUp { text += ", capped at \(up) by the scale-up rate" }
        if let down = heldDown { text += ", held at \(down) by the scale-down rate" }
        if let range = clampedTo { text += ", clamped to [\(range.lowerBound), \(range.upperBound)]" }
        return text
    }

    private static func fmt(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return String(rounded)
    }
}

/// Knative-KPA-style horizontal autoscaler: averages observed concurrency over a stable and a
/// panic window and turns it into a desired instance count. A value: time is an input, so tests
/// drive it with a manual clock. It says how many instances the load needs; whether an idle
/// function keeps one (keep-alive, pre-warm) is `KeepAlivePolicy`'s decision, combined with this
/// one by `FunctionController`.
public struct Autoscaler: Sendable {
    /// Its settings.
    public var settings: AutoscalerSettings
    private var samples = TimeOrdered<(at: Moment, concurrency: Double)>()
    private var panicSince: ContinuousClock.Instant?
    private var lastPanicSignal: ContinuousClock.Instant?

    /// Creates an autoscaler.
    public init(settings: AutoscalerSettings = AutoscalerSettings()) {
        self.settings = settings
    }

    /// Records the concurrency (requests in flight plus queued) observed at `now`.
    public mutating func record(concurrency: Double, at instant: ContinuousClock.Instant) {
        let now = Moment(instant)
        samples.append((now, concurrency.isFinite ? min(max(concurrency, 0), 1e9) : 0))
        let cutoff = now.advanced(by: .zero - max(settings.stableWindow, settings.panicWindow))
        while let first = samples.first, first.at < cutoff { samples.removeFirst() }
    }

    private func average(over window: Duration, at now: Moment) -> Double? {
        var sum = 0.0
        var count = 0
        let cutoff = now.advanced(by: .zero - window)
        for sample in samples.reversed() {
            if sample.at <= cutoff { break }  // half-open: a 6 s window holds 6 one-second samples
            sum += sample.concurrency
            count += 1
        }
        return count == 0 ? nil : sum / Double(count)
    }

    /// How many instances are wanted at `now`, given `current` instances.
    public mutating func evaluate(current: Int, at now: ContinuousClock.Instant) -> ScaleDecision {
        let s = settings
        let bounds = s.scaleBounds
        let moment = Moment(now)
        guard let stable = average(over: s.stableWindow, at: moment),
            let panic = average(over: s.panicWindow, at: moment)
        else {
            let desired = bounds.clamp(current)
            return ScaleDecision(desired: desired, panicking: false, basis: .noObservations)
        }
        let wantStable = instances(for: stable)
        let wantPanic = instances(for: panic)

        // Panic: a burst asks for panicThreshold× the instances we have. Stay in panic until the
        // burst has been gone for a whole stable window; never scale down while panicking.
        if Double(wantPanic) >= s.panicThreshold * Double(max(current, 1)) && wantPanic > current {
            if panicSince == nil { panicSince = now }
            lastPanicSignal = now
        } else if let last = lastPanicSignal, now - last >= s.stableWindow {
            panicSince = nil
            lastPanicSignal = nil
        }
        var desired: Int
        let basis: ScaleDecision.Basis
        if panicSince != nil {
            desired = max(wantPanic, current)
            basis = .panic(concurrency: panic, window: s.panicWindow, wants: wantPanic)
        } else {
            desired = wantStable
            basis = .stable(concurrency: stable, window: s.stableWindow, wants: wantStable)
        }
        var decision = ScaleDecision(desired: desired, panicking: panicSince != nil, basis: basis)

        // Rate limits.
        if current > 0 {
            let up = Self.count((Double(current) * s.maxScaleUpRate).rounded(.up))
            let down = Self.count((Double(current) / s.maxScaleDownRate).rounded(.down))
            if desired > up {
                desired = up
                decision.cappedUp = up
            }
            if desired < down && desired > 0 {
                desired = down
                decision.heldDown = down
            }
        }

        let clamped = bounds.clamp(desired)
        if clamped != desired { decision.clampedTo = bounds }
        decision.desired = clamped
        return decision
    }

    /// Instances needed for a concurrency; the tolerance keeps 0.7 / 0.7 at 1, not 2.
    private func instances(for concurrency: Double) -> Int {
        Self.count((concurrency / max(settings.targetConcurrency, 1e-6) - 1e-9).rounded(.up))
    }

    /// An instance count from a computed figure, clamped to `[0, 1e9]` (NaN is 0): never traps,
    /// whatever the settings.
    private static func count(_ x: Double) -> Int {
        x.isNaN ? 0 : Int(min(max(x, 0), 1e9))
    }
}

extension ClosedRange<Int> {
    /// `value` brought into the range.
    func clamp(_ value: Int) -> Int { Swift.min(Swift.max(value, lowerBound), upperBound) }

}
