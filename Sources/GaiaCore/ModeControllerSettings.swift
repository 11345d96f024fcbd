/// How the mode controller judges latency and how cautious it is about switching rungs.
public struct ModeControllerSettings: Sendable, Hashable, Codable {
    /// Window the SLO statistic is computed over when the SLO does not set one.
    public var window: Duration = .seconds(30)
    /// Fewest invocations on a rung before its latency counts for anything.
    public var minSamples: Int = 20
    /// No switch within this long after the previous one (the new rung must show what it does).
    public var cooldown: Duration = .seconds(10)
    /// Longer window a demotion needs: the function must have been on its rung this long, and a
    /// low-load demotion looks at the traffic over it.
    public var demotionWindow: Duration = .seconds(120)
    /// A cheaper rung must be predicted at or under this fraction of the threshold to demote to it
    /// (hysteresis: promotion happens above 1.0, demotion only well under it).
    public var demotionMargin: Double = 0.8
    /// A promotion that improved the statistic by less than this fraction "brought no improvement".
    public var minImprovement: Double = 0.1
    /// After a promotion to more of the same hardware (more cores, a larger GPU share), a statistic
    /// over this multiple of the one before says the inputs or the load grew during the move: more
    /// of the same hardware is never that much slower. It is judged as a new violation on the new
    /// rung instead of as the promotion's result, and the latency model keeps only the new rung's figure.
    public var driftFactor: Double = 1.5
    /// A slow function at a low rate may never show `minSamples` invocations in the window: when at
    /// least this many over the longer `demotionWindow` *all* missed the SLO, the violation is
    /// certain (any percentile of them is over the threshold) and counts as measured.
    public var minCertainSamples: Int = 3
    /// A rung that failed to start (a driver error, out of GPU memory) is not chosen again for this
    /// long.
    public var failedRungRetry: Duration = .seconds(600)
    /// A demotion must repay what starting its instances costs within this long (by the difference
    /// in cost per second of the two configurations).
    public var moveHorizon: Duration = .seconds(300)

    /// The defaults.
    public init() {}
}

/// One move along the ladder, as the mode controller decided it, with what it saw and expected.
public struct RungSwitch: Sendable, Hashable {
    /// Up the ladder (faster, dearer) or down.
    public enum Direction: String, Sendable, Hashable {
        case promote, demote
    }

    /// The rung the function is on.
    public var from: Backend
    /// The rung it should move to.
    public var to: Backend
    /// Up or down.
    public var direction: Direction
    /// The SLO statistic measured on `from` (nil when there were too few invocations to compute it).
    public var measuredMs: Double?
    /// The statistic the latency model expects on `to` (nil when it has nothing to go on).
    public var predictedMs: Double?
    /// One line for the decision log.
    public var reason: String
}
