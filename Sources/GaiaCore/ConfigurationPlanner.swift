/// What the controller knows of the load coming and of each rung, to weigh configurations
/// (rung × instances) rather than rungs: the request rate to plan for, what one instance runs at
/// once, how many instances of each rung there is room for, and each device class's service-time
/// curve (the performance predictor's fit, made once per evaluation).
public struct LoadOutlook: Sendable {
    /// Requests per second to plan for.
    public var rate: Double
    /// Requests one instance runs at once.
    public var slots: Int
    /// The room of the machine or cluster.
    public var space: InstanceRoom
    /// Most instances of the function (its max scale).
    public var maxInstances: Int
    /// Service time against compute share, per device class (nil: not measured).
    public var cpuCurve: PerformancePredictor.Curve?
    public var gpuCurve: PerformancePredictor.Curve?
    /// Seconds a new instance takes to start, per device class, for the cost of a move.
    public var cpuStartSeconds = 2.0
    public var gpuStartSeconds = 10.0

    /// An outlook.
    public init(
        rate: Double, slots: Int, space: InstanceRoom, maxInstances: Int = AutoscalerSettings.instanceCeiling,
        cpuCurve: PerformancePredictor.Curve? = nil, gpuCurve: PerformancePredictor.Curve? = nil
    ) {
        self.rate = rate.isFinite ? max(0, rate) : 0
        self.slots = min(max(1, slots), FunctionLimits.concurrency.upperBound)
        self.space = space
        self.maxInstances = max(0, maxInstances)
        self.cpuCurve = cpuCurve
        self.gpuCurve = gpuCurve
    }

    /// Most instances of `rung` there is room for.
    public func room(_ rung: Backend) -> Int { min(space.instances(of: rung), maxInstances) }

    /// Mean service time on `rung`, ms (nil: its class not measured).
    public func meanServiceMs(_ rung: Backend) -> Double? {
        (rung.deviceClass == .gpu ? gpuCurve : cpuCurve)?.milliseconds(on: rung)
    }

    /// The rate, for a reason: `3.98 req/s`.
    public var rateText: String { "\((rate * 100).rounded() / 100) req/s" }

    /// Seconds a new instance of `deviceClass` takes to start.
    public func startSeconds(_ deviceClass: DeviceClass) -> Double { deviceClass == .gpu ? gpuStartSeconds : cpuStartSeconds }
}

/// How many instances of each rung there is room for: the nodes' cores, and the GPUs (a GPU holds
/// `100/sm × 100/quota` instances of a share).
public struct InstanceRoom: Sendable, Hashable {
    /// Nodes by their cores: how many nodes have each count of cores.
    public private(set) var nodesByCores: [Int: Int] = [:]
    /// GPUs an instance of a GPU rung may be placed on.
    public var gpus: Int

    /// Room on nodes with these cores and GPUs.
    public init(nodeCores: [Int], gpus: Int) {
        for cores in nodeCores { nodesByCores[max(0, cores), default: 0] += 1 }
        self.gpus = max(0, gpus)
    }

    /// The room of one machine offering `ladder`: its largest CPU rung's cores, its GPU devices.
    public init(ladder: BackendLadder) {
        let cores = ladder.rungs.filter { $0.deviceClass == .cpu }.map(\.cpuCores).max() ?? 1
        let gpus = Set(ladder.rungs.compactMap { if case .gpu(let device, _, _) = $0 { device } else { nil } }).count
        self.init(nodeCores: [cores], gpus: gpus)
    }

    /// Instances of `rung` that fit.
    public func instances(of rung: Backend) -> Int {
        switch rung {
        case .cpu(let cores, _): nodesByCores.reduce(0) { $0 + $1.key / max(1, cores) * $1.value }
        case .gpu(_, let sm, let quota): gpus * 10_000 / max(1, min(100, sm) * min(100, quota))
        }
    }
}

/// One configuration: a rung and a number of instances, with what it is expected to do.
public struct PlannedConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The rung.
    public var rung: Backend
    /// Instances on it.
    public var instances: Int
    /// The SLO statistic of latency expected at the planned rate, ms (service plus queueing).
    public var predictedMs: Double
    /// What it costs per second, all instances, idle time included.
    public var costPerSecond: Double
    /// The mean service time it was planned with, ms (a time quota's stretch included).
    public var meanServiceMs: Double

    /// `3 × cpu-4 (≈ 812 ms, $1.469/h)`.
    public var description: String {
        "\(instances) × \(rung) (≈ \(min(predictedMs, 1e9).roundedInt) ms, $\((costPerSecond * 3_600_000).rounded() / 1000)/h)"
    }
}

/// Chooses configurations by queueing: for a rung whose service time is known, the fewest
/// instances whose predicted latency statistic meets the SLO at the planned rate (an M/M/c queue
/// of `instances × slots` servers: the Erlang C probability of waiting, and the waiting time's tail
/// `P(W > t) = C·e^{−(cμ−λ)t}` added to the service time's own statistic), and what they cost. A
/// pure function: the controller, the runtime and the simulator call the same code.
public enum ConfigurationPlanner {
    /// The SLO statistic of latency with `servers` servers of mean service `meanMs` (ms) at `rate`
    /// requests per second, given the statistic of service time itself (`serviceStatMs`): infinite
    /// when the queue grows without bound.
    public static func latency(
        statistic: SLO.Statistic, serviceStatMs: Double, meanMs: Double, servers: Int, rate: Double
    ) -> Double {
        guard rate > 0, meanMs > 0 else { return serviceStatMs }
        let offered = rate * meanMs / 1000
        var erlangB = 1.0
        for k in 1...max(1, servers) { erlangB = offered * erlangB / (Double(k) + offered * erlangB) }
        return latency(statistic: statistic, serviceStatMs: serviceStatMs, meanMs: meanMs, servers: servers, rate: rate, erlangB: erlangB)
    }

    /// The same, given Erlang B for `servers` (so that a search over server counts extends one
    /// recurrence instead of starting it again for each count).
    static func latency(
        statistic: SLO.Statistic, serviceStatMs: Double, meanMs: Double, servers: Int, rate: Double, erlangB b: Double
    ) -> Double {
        guard rate > 0, meanMs > 0 else { return serviceStatMs }
        let mu = 1000 / meanMs  // completions per second of one server
        let c = Double(max(1, servers))
        let offered = rate / mu
        guard offered < c * 0.999 else { return .infinity }
        let rho = offered / c
        let waits = b / (1 - rho * (1 - b))  // Erlang C: the probability an arrival waits
        let drain = c * mu - rate  // per second
        let waitMs: Double
        switch statistic {
        case .mean: waitMs = waits / drain * 1000
        default:
            let q = statistic.quantile
            waitMs = waits > 1 - q ? log(waits / (1 - q)) / drain * 1000 : 0
        }
        return serviceStatMs + waitMs
    }

    /// The cheapest configuration on `rung` meeting the SLO at the outlook's rate: the fewest
    /// instances (at least one) within the rung's room; nil when even the room's worth does not.
    public static func cheapest(
        on rung: Backend, serviceStatMs: Double, meanMs: Double, outlook: LoadOutlook, slo: SLO, prices: PriceTable
    ) -> PlannedConfiguration? {
        let room = min(outlook.room(rung), AutoscalerSettings.instanceCeiling)
        guard room >= 1, serviceStatMs <= slo.thresholdMs, meanMs.isFinite, serviceStatMs.isFinite else { return nil }
        let offered = outlook.rate * max(meanMs, 0) / 1000
        var erlangB = 1.0
        var servers = 0
        // Past this many servers an arrival almost never waits (Erlang C under 10⁻⁶): no recurrence.
        let plenty = offered + 10 * offered.squareRoot() + 20
        for n in 1...room {
            let c = n * outlook.slots
            let predicted: Double
            if Double(c) > plenty {
                predicted = serviceStatMs
            } else {
                while servers < c {
                    servers += 1
                    erlangB = offered * erlangB / (Double(servers) + offered * erlangB)
                }
                guard offered < Double(c) * 0.999 || outlook.rate == 0 else { continue }
                predicted = latency(
                    statistic: slo.statistic, serviceStatMs: serviceStatMs, meanMs: meanMs, servers: c, rate: outlook.rate, erlangB: erlangB)
            }
            if predicted <= slo.thresholdMs {
                return PlannedConfiguration(
                    rung: rung, instances: n, predictedMs: predicted, costPerSecond: Double(n) * prices.perSecond(rung), meanServiceMs: meanMs)
            }
        }
        return nil
    }
}

extension SLO.Statistic {
    /// The quantile a percentile statistic stands for (the mean: 0.5, for what it is worth).
    var quantile: Double {
        switch self {
        case .p50, .mean: 0.5
        case .p90: 0.9
        case .p95: 0.95
        case .p99: 0.99
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
