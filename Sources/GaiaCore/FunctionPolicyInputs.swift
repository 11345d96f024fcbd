/// What one function's control policy is made from: the platform's settings and the function's
/// own choices. The live runtime and the simulator both build their `FunctionController`s with
/// `FunctionController(_:at:)` from this, so a function is controlled the same way in both.
public struct FunctionPolicyInputs: Sendable {
    /// The machine's (or simulated node's) ladder.
    public var ladder: BackendLadder
    /// The function's execution mode.
    public var mode: ExecutionMode
    /// A rung the function is pinned to (its whole ladder), if any.
    public var pinned: Backend?
    /// The function's SLO (nil: the default).
    public var slo: SLO?
    /// The analyzer's estimate of its work (the latency model's prior).
    public var work: WorkEstimate
    /// Requests one instance runs at once.
    public var concurrency: Int
    /// Autoscaler settings, with the function's own min/max scale applied.
    public var autoscaler: AutoscalerSettings
    /// Keep-alive settings, with the function's own choices applied.
    public var keepAlive: KeepAliveSettings
    /// The mode controller's settings.
    public var controller: ModeControllerSettings
    /// The hybrid autoscaler's settings (share rungs).
    public var hybrid = HybridAutoscalerSettings()
    /// Prices, for the SLO's cost ceiling.
    public var prices: PriceTable
    /// Memory of the machine's (or simulated node's) smallest GPU, MiB, where known: a GPU function
    /// starts on an SM share its estimated memory fits in (`BackendLadder.start`).
    public var gpuMemoryMiB: Int?
    /// Memory one instance is expected to need on a GPU, MiB (the operator's figure, else the
    /// analyzer's estimate).
    public var instanceMiB: Int?
    /// How many instances of each rung there is room for (nil: one machine with the ladder's cores
    /// and GPUs).
    public var room: InstanceRoom?
    /// Whether configurations are planned (rung × instances by queueing, `ConfigurationPlanner`);
    /// off, the autoscaler alone counts instances and the mode controller compares rungs, as the
    /// simulator's models of KPA-scaled systems (Knative, FaST-GShare, the prototype) do.
    public var plansConfigurations = true

    /// Inputs.
    public init(
        ladder: BackendLadder, mode: ExecutionMode, pinned: Backend? = nil, slo: SLO? = nil, work: WorkEstimate = WorkEstimate(),
        concurrency: Int = 1, autoscaler: AutoscalerSettings = AutoscalerSettings(), keepAlive: KeepAliveSettings = KeepAliveSettings(),
        controller: ModeControllerSettings = ModeControllerSettings(), prices: PriceTable = PriceTable()
    ) {
        self.ladder = ladder
        self.mode = mode
        self.pinned = pinned
        self.slo = slo
        self.work = work
        self.concurrency = concurrency
        self.autoscaler = autoscaler
        self.keepAlive = keepAlive
        self.controller = controller
        self.prices = prices
    }

    /// The rungs it may use: the pinned rung alone (when the ladder has it), else the mode's.
    public var rungs: [Backend] {
        if let pinned, ladder.offers(pinned) { return [pinned] }
        return ladder.rungs(for: mode)
    }

    /// Where it starts: the pinned rung, else the mode's start rung (an SM share that holds it,
    /// where the GPU's memory is known and the ladder has shares).
    public var start: Backend {
        if let pinned, ladder.offers(pinned) { return pinned }
        return ladder.start(for: mode, instanceMiB: instanceMiB ?? work.gpuMemoryMiB, gpuMemoryMiB: gpuMemoryMiB)
    }
}

extension FunctionController {
    /// The controller of a function loaded at `now`: the autoscaler's target scaled by what one
    /// instance runs at once, the mode controller on the function's rungs with the latency model's
    /// prior from the analyzer's estimate.
    public init(_ inputs: FunctionPolicyInputs, at now: ContinuousClock.Instant, loaded: Bool = true) {
        var autoscaler = inputs.autoscaler
        autoscaler.targetConcurrency *= Double(max(1, inputs.concurrency))
        let mode = ModeController(
            rungs: inputs.rungs, start: inputs.start, slo: inputs.slo,
            model: LatencyModel(parallelFraction: LatencyModel.prior(for: inputs.work)),
            prices: inputs.prices, settings: inputs.controller, at: now)
        self.init(autoscaler: autoscaler, keepAlive: inputs.keepAlive, mode: mode, hybrid: inputs.hybrid, at: now, loaded: loaded)
        slotsPerInstance = min(max(1, inputs.concurrency), FunctionLimits.concurrency.upperBound)
        room = inputs.plansConfigurations ? inputs.room ?? InstanceRoom(ladder: inputs.ladder) : nil
    }
}
