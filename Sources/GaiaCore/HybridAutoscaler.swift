/// Settings of the hybrid (vertical + horizontal) autoscaler.
public struct HybridAutoscalerSettings: Sendable, Hashable, Codable {
    /// Busiest an instance is planned to be (its throughput at its quota times this).
    public var targetUtilization: Double = 0.7
    /// Time to wait after a change before shrinking (growing never waits).
    public var shrinkCooldown: Duration = .seconds(30)

    /// The defaults.
    public init() {}
}

/// One configuration of a function: instances on a rung.
public struct ShareConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Instances.
    public var instances: Int
    /// The rung each runs on (its time quota is the vertical dimension).
    public var rung: Backend

    /// A configuration.
    public init(instances: Int, rung: Backend) {
        self.instances = instances
        self.rung = rung
    }

    /// `3 × gpu0-50q30`.
    public var description: String { "\(instances) × \(rung)" }
}

/// A decision of the hybrid autoscaler.
public struct HybridDecision: Sendable, Hashable {
    /// What to run.
    public var configuration: ShareConfiguration
    /// Why, with the figures.
    public var reason: String
}

/// HAS-GPU's hybrid autoscaler, for one function on one family of share rungs (one device and SM
/// share, every time quota of the grid): from the request rate to plan for (`DemandEstimate`) and
/// the performance predictor, it chooses the cheapest configuration, instances × quota, whose instances
/// stay under `targetUtilization` and whose predicted latency meets the SLO. It grows vertically
/// first (a higher quota, no cold start) while that suffices at the current instance count, then
/// horizontally; it shrinks only after `shrinkCooldown` since its last change. A configuration
/// never holds more of a device than `room` allows (the SM × quota of the function's instances on
/// one GPU, with other functions', stays within 100%). The same code scales CPU rungs with a quota.
///
/// Predicted latency at utilisation ρ is the service time over (1 − ρ) (an M/M/1 queue's mean
/// response: explainable and conservative for the p95 of steady traffic).
public struct HybridAutoscaler: Sendable {
    /// Its settings.
    public let settings: HybridAutoscalerSettings
    private var lastChange: ContinuousClock.Instant?

    /// An autoscaler with the given settings.
    public init(settings: HybridAutoscalerSettings = HybridAutoscalerSettings()) {
        self.settings = settings
    }

    /// The configuration to run at `now`.
    /// - Parameters:
    ///   - demand: requests per second to plan for (nil: none measured yet).
    ///   - current: what runs now.
    ///   - quotas: the rungs the function may take (the current rung's family, each quota).
    ///   - maxInstances: the most instances.
    ///   - room: percent of the device (SM × quota / 100) the function's instances may hold in all.
    ///   - slots: requests one instance runs at once.
    ///   - thresholdMs: the SLO's threshold.
    public mutating func evaluate(
        at now: ContinuousClock.Instant, demand: Double?, current: ShareConfiguration, quotas: [Backend], maxInstances: Int, room: Double,
        slots: Int = 1, thresholdMs: Double, predictor: PerformancePredictor, prices: PriceTable
    ) -> HybridDecision {
        let rungs = quotas.sorted { $0.quotaPercent < $1.quotaPercent }
        // One fit for the tick: every rung of the family is of the current rung's device class.
        let curve = predictor.curve(current.rung.deviceClass)
        func use(_ c: ShareConfiguration) -> Double {
            Double(c.instances) * Double(c.rung.smPercent) * Double(c.rung.quotaPercent) / 100
        }
        func predicted(_ c: ShareConfiguration) -> (latency: Double, utilization: Double)? {
            guard let curve, let perInstance = curve.throughput(on: c.rung, slots: slots), perInstance > 0 else { return nil }
            let service = curve.milliseconds(on: c.rung)
            let rho = (demand ?? 0) / (perInstance * Double(c.instances))
            return (rho < 1 ? service / (1 - rho) : .infinity, rho)
        }
        func meets(_ c: ShareConfiguration) -> Bool {
            guard use(c) <= room + 1e-9, let p = predicted(c) else { return false }
            return p.utilization <= settings.targetUtilization && p.latency <= thresholdMs
        }
        func cost(_ c: ShareConfiguration) -> Double { Double(c.instances) * prices.perSecond(c.rung) }
        func decide(_ c: ShareConfiguration, _ why: String) -> HybridDecision {
            if c != current { lastChange = now }
            let figures = predicted(c).map { p in
                p.latency.isFinite
                    ? "; predicted \(min(p.latency, 1e9).roundedInt) ms at \((min(p.utilization, 9.99) * 100).roundedInt)% busy"
                    : "; over capacity"
            } ?? ""
            return HybridDecision(
                configuration: c, reason: "demand \(((demand ?? 0) * 100).rounded() / 100) req/s: " + why + figures)
        }
        guard demand != nil, curve != nil, !rungs.isEmpty else {
            return HybridDecision(configuration: current, reason: "no demand or service time measured yet: keep \(current)")
        }
        let n = max(1, current.instances)
        let canShrink = lastChange.map { now - $0 >= settings.shrinkCooldown } ?? true
        let all = (1...max(1, maxInstances)).flatMap { i in rungs.map { ShareConfiguration(instances: i, rung: $0) } }
        let cheapest = all.filter(meets).min { (cost($0), $0.instances) < (cost($1), $1.instances) }

        if meets(current) {
            guard canShrink, let cheaper = cheapest, cost(cheaper) < cost(current) * 0.95 else {
                return decide(current, "\(current) meets the SLO")
            }
            return decide(cheaper, "\(cheaper) also meets it for less than \(current): shrink")
        }
        // Vertical first: a higher quota at the same instance count, the smallest that suffices.
        if let vertical = rungs.map({ ShareConfiguration(instances: n, rung: $0) })
            .first(where: { $0.rung.quotaPercent > current.rung.quotaPercent && meets($0) })
        {
            return decide(vertical, "\(current) would miss it; grow vertically to \(vertical.rung) (no cold start)")
        }
        if let horizontal = all.filter({ $0.instances > n && meets($0) }).min(by: { (cost($0), $0.instances) < (cost($1), $1.instances) }) {
            return decide(horizontal, "no quota of \(n) instance(s) suffices; grow horizontally to \(horizontal)")
        }
        // Nothing meets it: the most the room allows, largest quota first.
        let most = all.filter { use($0) <= room + 1e-9 }.max { (Double($0.instances) * Double($0.rung.quotaPercent), -$0.instances) < (Double($1.instances) * Double($1.rung.quotaPercent), -$1.instances) }
        let target = most ?? current
        if !canShrink && cost(target) < cost(current) { return decide(current, "no configuration meets the SLO; keep \(current)") }
        return decide(target, "no configuration within the device's room meets the SLO; take the most: \(target)")
    }
}
