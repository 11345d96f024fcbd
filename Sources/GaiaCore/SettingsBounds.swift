/// The controllers' settings brought within the ranges their arithmetic is written for. The API,
/// the configuration file and the store refuse what is out of range where they read it; these are
/// what the controllers themselves apply when they are built, so that no setting, however it got
/// in (code, an old database, a future field), makes a controller trap or loop without end.
/// Values already in range are unchanged; NaN takes the default.
extension AutoscalerSettings {
    /// These settings within bounds (`scaleBounds` for the scale; rates and windows finite and positive).
    public var bounded: AutoscalerSettings {
        let d = AutoscalerSettings()
        var s = self
        let scale = scaleBounds
        (s.minScale, s.maxScale) = (scale.lowerBound, scale.upperBound)
        s.targetConcurrency = targetConcurrency.within(1e-3...1e6, else: d.targetConcurrency)
        s.stableWindow = stableWindow.within(.milliseconds(1)...Duration.day * 30)
        s.panicWindow = panicWindow.within(.milliseconds(1)...Duration.day * 30)
        s.panicThreshold = panicThreshold.within(1...1e6, else: d.panicThreshold)
        s.maxScaleUpRate = maxScaleUpRate.within(1...1e6, else: d.maxScaleUpRate)
        s.maxScaleDownRate = maxScaleDownRate.within(1...1e6, else: d.maxScaleDownRate)
        return s
    }
}

extension KeepAliveSettings {
    /// These settings within bounds; the histogram holds at most 100,000 buckets.
    public var bounded: KeepAliveSettings {
        let d = KeepAliveSettings()
        var s = self
        if case .fixed(let seconds) = mode { s.mode = .fixed(seconds: seconds.within(0...Mode.maxSeconds, else: 0)) }
        s.fallback = fallback.within(.zero...Duration.day * 30)
        s.minHistory = min(max(minHistory, 1), 1_000_000)
        s.range = range.within(.seconds(1)...Duration.day * 30)
        s.bucket = max(bucket.within(.milliseconds(1)...Duration.day), s.range / 100_000)
        s.margin = margin.within(0...10, else: d.margin)
        s.minKeepAlive = minKeepAlive.within(.zero...Duration.day * 30)
        s.minPrewarm = minPrewarm.within(.zero...Duration.day * 30)
        s.maxOutOfRange = maxOutOfRange.within(0...1, else: d.maxOutOfRange)
        return s
    }
}

extension ModeControllerSettings {
    /// These settings within bounds.
    public var bounded: ModeControllerSettings {
        let d = ModeControllerSettings()
        var s = self
        s.window = window.within(.milliseconds(1)...Duration.day * 30)
        s.minSamples = min(max(minSamples, 1), 1_000_000)
        s.cooldown = cooldown.within(.zero...Duration.day * 30)
        s.demotionWindow = demotionWindow.within(.zero...Duration.day * 30)
        s.demotionMargin = demotionMargin.within(0.01...1, else: d.demotionMargin)
        s.minImprovement = minImprovement.within(0...0.99, else: d.minImprovement)
        s.driftFactor = driftFactor.within(1.01...1e6, else: d.driftFactor)
        s.minCertainSamples = min(max(minCertainSamples, 1), 1_000_000)
        s.failedRungRetry = failedRungRetry.within(.zero...Duration.day * 30)
        s.moveHorizon = moveHorizon.within(.seconds(1)...Duration.day)
        return s
    }
}

extension HybridAutoscalerSettings {
    /// These settings within bounds.
    public var bounded: HybridAutoscalerSettings {
        let d = HybridAutoscalerSettings()
        var s = self
        s.targetUtilization = targetUtilization.within(0.01...1, else: d.targetUtilization)
        s.shrinkCooldown = shrinkCooldown.within(.zero...Duration.day * 30)
        return s
    }
}

extension SLO {
    /// This objective within bounds: a threshold of 1 µs to 30 days (NaN: the default's), a window
    /// of 1 ms to 30 days, a cost ceiling that is a number.
    public var bounded: SLO {
        var s = self
        s.thresholdMs = thresholdMs.within(1e-3...(30 * 86_400_000), else: SLO.default.thresholdMs)
        s.windowSeconds = windowSeconds.map { $0.within(1e-3...(30 * 86_400), else: 30) }
        s.maxCostPerThousand = maxCostPerThousand.flatMap { $0.isNaN ? nil : max(0, $0) }
        return s
    }
}

extension Duration {
    static let day = Duration.seconds(86_400)

    /// This duration brought into `range`.
    func within(_ range: ClosedRange<Duration>) -> Duration { min(max(self, range.lowerBound), range.upperBound) }
}

extension Double {
    /// This value rounded to an integer for a message or a count, never trapping: NaN is 0, and
    /// magnitudes are capped at 10¹⁵.
    var roundedInt: Int { isNaN ? 0 : Int(min(max(rounded(), -1e15), 1e15)) }

    /// This value brought into `range`; NaN becomes `fallback`.
    func within(_ range: ClosedRange<Double>, else fallback: Double) -> Double {
        isNaN ? fallback : min(max(self, range.lowerBound), range.upperBound)
    }
}
