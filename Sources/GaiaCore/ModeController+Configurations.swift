/// The mode controller's configurations (`ConfigurationPlanner`): what each rung needs at the load
/// coming, which of them to move to, whether a move pays, and what it compared.
extension ModeController {
    /// Whether a violation is queueing, not slow service: the current rung's own service time
    /// meets the SLO with room to spare (`demotionMargin`), and enough instances of it to meet the
    /// SLO at the load coming fit the room. More instances fix it; a faster rung is not needed.
    func queueing(service: Double, outlook: LoadOutlook) -> Bool {
        service <= slo.thresholdMs * settings.demotionMargin && plan(current, outlook) != nil
    }

    /// The cheapest configuration of `rung` meeting the SLO (scaled by `margin`) at the outlook's
    /// rate: its service statistic from the latency model, its mean service time from the outlook
    /// (the model's statistic when unknown).
    ///
    /// A time quota stretches both: an instance holding its device `quota`% of the time serves a
    /// request in about 100/quota times its full-time service time (the model and the predictor
    /// describe compute shares at full time; without this the planner took an instance at a 20%
    /// quota for one at full time, a fifth of the price, and moved ResNet-18 there).
    func plan(_ rung: Backend, _ outlook: LoadOutlook, margin: Double = 1) -> PlannedConfiguration? {
        guard let predicted = model.predict(rung) else { return nil }
        let stretch = 100 / Double(max(1, min(100, rung.quotaPercent)))
        let statistic = predicted * stretch
        let mean = min(outlook.meanServiceMs(rung) ?? predicted, predicted) * stretch
        var target = slo
        target.thresholdMs *= margin
        return ConfigurationPlanner.cheapest(on: rung, serviceStatMs: statistic, meanMs: mean, outlook: outlook, slo: target, prices: prices)
    }

    /// The cheapest configuration meeting the SLO (within `margin`) of each of `candidates` that
    /// has one, cheapest first: the first is where a move goes, the rest what it was compared with.
    func plans(among candidates: [Backend], _ outlook: LoadOutlook, margin: Double = 1) -> [PlannedConfiguration] {
        candidates.compactMap { plan($0, outlook, margin: margin) }.sorted { ($0.costPerSecond, $0.rung) < ($1.costPerSecond, $1.rung) }
    }

    /// What a move compared, for its reason: the three cheapest of `plans` (from `plans(among:)`),
    /// with their predicted statistic and cost, and how many of `candidates` had none.
    func compared(_ plans: [PlannedConfiguration], of candidates: [Backend]) -> String {
        let shown = plans.prefix(3).map(\.description).joined(separator: ", ")
        let more = plans.count > 3 ? " and \(plans.count - 3) dearer" : ""
        let none = candidates.count - plans.count
        return "compared \(shown.isEmpty ? "nothing that meets it" : shown)\(more)" + (none > 0 ? "; \(none) rung(s) where none meets it" : "")
    }

    /// Whether moving from `here` to `there` pays: it saves at least `minImprovement` of the cost per
    /// second, and the saving over `moveHorizon` exceeds what starting `there`'s instances costs.
    func pays(from here: PlannedConfiguration, to there: PlannedConfiguration, _ outlook: LoadOutlook) -> Bool {
        let saving = here.costPerSecond - there.costPerSecond
        let start = Double(there.instances) * outlook.startSeconds(there.rung.deviceClass) * prices.perSecond(there.rung)
        return saving >= here.costPerSecond * settings.minImprovement && saving * settings.moveHorizon.inSeconds > start
    }
}
