import DequeModule
public import GaiaCore

/// One function of a simulated workload: what it does, when requests come, and its objective.
public struct FunctionSpec: Sendable {
    /// Its name.
    public var name: String
    /// Its service times and cold starts per rung.
    public var workload: Workload
    /// When requests arrive.
    public var arrivals: ArrivalProcess
    /// How large each request is.
    public var sizes: PayloadSizes
    /// Its SLO (violations are counted against its threshold, request by request).
    public var slo: SLO
    /// Requests one instance runs at once.
    public var concurrency: Int

    /// A function.
    public init(name: String, workload: Workload, arrivals: ArrivalProcess, sizes: PayloadSizes = .fixed(0), slo: SLO = .default, concurrency: Int = 1) {
        self.name = name
        self.workload = workload
        self.arrivals = arrivals
        self.sizes = sizes
        self.slo = slo
        self.concurrency = max(1, concurrency)
    }
}

/// How a simulation runs: the cluster, the platform's settings (the same types `gaia serve` takes),
/// the seed and the length.
public struct SimulationSettings: Sendable {
    /// Arrivals stop after this many seconds; the run goes on until every request has ended.
    public var duration: Double
    /// The seed: the same seed gives the same run, byte for byte.
    public var seed: UInt64
    /// The nodes.
    public var cluster: ClusterSpec
    /// Seconds between control ticks.
    public var tick = 1.0
    /// Autoscaler settings (min/max scale per function).
    public var autoscaler = AutoscalerSettings()
    /// Keep-alive settings for Gaia.
    public var keepAlive = KeepAliveSettings()
    /// Knative's fixed keep-alive (its stable window plus the scale-to-zero grace period).
    public var knativeKeepAlive = 90.0
    /// The mode controller's settings.
    public var controller = ModeControllerSettings()
    /// Prices.
    public var prices = PriceTable()
    /// Requests waiting per function beyond which new ones are rejected (503).
    public var queueLimit = 100
    /// Seconds a request may wait in the queue before it times out (504).
    public var timeout = 60.0
    /// Host cores of a GPU instance.
    public var gpuHostCores = 2
    /// Memory of each simulated GPU, MiB (an H100's 80 GB as `nvidia-smi` reports it): what
    /// decides whether a GPU function's estimated memory fits an SM share to start on.
    public var gpuMemoryMiB = 81_559
    /// Seconds an in-place CPU resize takes (measured 2–85 ms, `bench/switch.sh`).
    public var resizeSeconds = 0.05
    /// Width of the time series' buckets, seconds.
    public var seriesBucket = 10.0
    /// Keep every answered request of the first function (`SimulationResult.requestLog`).
    public var recordRequests = false
    /// Keep every action the first function's controller returned (`SimulationResult.decisionLog`).
    public var recordDecisions = false
    /// Whether the minimum scale's instances are ready at the start (else they start then, each a
    /// cold start like any other).
    public var minScaleStartsWarm = true
    /// The rung `static-cpu` is pinned to instead of the largest CPU rung (the oracle pins each
    /// configuration it tries so: `Scenario.oracle`).
    public var staticRung: Backend?
    /// The SM share, percent, every `fast-gshare` instance gets.
    public var fastGShareSM = 50
    /// The SM share, percent, of every `has-gpu` instance (its time quota is scaled).
    public var hasGPUSM = 50

    /// Settings.
    public init(duration: Double, seed: UInt64, cluster: ClusterSpec) {
        self.duration = duration
        self.seed = seed
        self.cluster = cluster
    }
}

/// One bucket of the first function's time series.
public struct SeriesPoint: Sendable, Hashable, Codable {
    /// Bucket start, seconds.
    public var t: Double
    /// Requests that ended in it.
    public var requests: Int
    /// Their mean latency, ms.
    public var meanMs: Double
    /// The rung serving at the bucket's end.
    public var rung: String
    /// Instances at the bucket's end.
    public var instances: Int
}

/// One answered request of the first function.
public struct RequestRecord: Sendable, Hashable {
    /// Its number in the function's sequence (0 first).
    public var index: Int
    /// Its payload size.
    public var size: Double
    /// When it arrived, seconds.
    public var arrival: Double
    /// Its latency, ms.
    public var milliseconds: Double
    /// The rung that served it.
    public var rung: String
    /// Whether it waited for a cold start.
    public var cold: Bool
}

/// One action the first function's controller returned, with its reason.
public struct DecisionRecord: Sendable, Hashable {
    /// When, seconds.
    public var t: Double
    /// `scale` or `promote`/`demote`.
    public var kind: String
    /// From (instances, or a rung).
    public var from: String
    /// To.
    public var to: String
    /// The deciding rule's reason, with its figures.
    public var reason: String
}

/// A rung switch of the first function.
public struct SwitchMark: Sendable, Hashable, Codable {
    /// When traffic moved, seconds.
    public var t: Double
    /// From.
    public var from: String
    /// To.
    public var to: String
}

/// What a run of one policy did.
public struct SimulationResult: Sendable, Codable {
    /// The policy.
    public var policy: String
    /// Requests that arrived.
    public var arrivals: Int
    /// Answered.
    public var completed: Int
    /// Refused because the queue was full.
    public var rejected: Int
    /// Waited past the timeout.
    public var timedOut: Int
    /// Answered later than their function's SLO threshold, plus rejected and timed out.
    public var sloViolations: Int
    /// Latency percentiles of the answered, ms.
    public var p50Ms: Double
    /// p95.
    public var p95Ms: Double
    /// p99.
    public var p99Ms: Double
    /// Mean.
    public var meanMs: Double
    /// Requests that waited for an instance to start.
    public var coldStarts: Int
    /// The user's bill: each answered request's duration × its rung's price.
    public var billUSD: Double
    /// The provider's cost: every instance's lifetime (starting, serving, idle) × its rung's price.
    public var providerUSD: Double
    /// Instance-seconds.
    public var instanceSeconds: Double
    /// GPU-seconds held (whole GPU = 1 per second; a share counts its fraction).
    public var gpuShareSeconds: Double
    /// Most GPU held at once, in percent of one GPU, and how much the cluster has.
    public var peakGPUPercent: Int
    /// The cluster's GPUs × 100.
    public var availableGPUPercent: Int
    /// Rung switches, all functions.
    public var switches: Int
    /// The simulated seconds until the last request ended.
    public var simulatedSeconds: Double
    /// Events processed.
    public var events: Int
    /// The first function's latency and rung over time.
    public var series: [SeriesPoint]
    /// The first function's switches.
    public var switchMarks: [SwitchMark]
    /// The configuration a policy held throughout, where it is one (the oracle's: `3 × cpu-4`).
    public var configuration: String?
    /// Every answered request of the first function, when `recordRequests` was set (not in the JSON).
    public var requestLog: [RequestRecord] = []
    /// Every action of the first function's controller, when `recordDecisions` was set (not in the JSON).
    public var decisionLog: [DecisionRecord] = []

    enum CodingKeys: String, CodingKey {
        case policy, arrivals, completed, rejected, timedOut, sloViolations, p50Ms, p95Ms, p99Ms, meanMs, coldStarts, billUSD, providerUSD
        case instanceSeconds, gpuShareSeconds, peakGPUPercent, availableGPUPercent, switches, simulatedSeconds, events, series, switchMarks
        case configuration
    }

    /// The SLO violation rate, 0…1.
    public var violationRate: Double { arrivals == 0 ? 0 : Double(sloViolations) / Double(arrivals) }
}

/// A discrete-event simulation of functions on a cluster under one policy, on virtual time (no
/// clock is read, nothing sleeps): a binary heap of events (arrivals, completions, instances
/// ready, control ticks), per-function FIFO queues, instances with concurrency slots placed on
/// nodes, and each function's controller fed the same observations and asked for the same actions
/// as in `gaia serve`.
public struct Simulation {
    public let settings: SimulationSettings
    public let functions: [FunctionSpec]
    public let policy: PolicyKind

    /// A simulation of `functions` under `policy`.
    public init(functions: [FunctionSpec], policy: PolicyKind, settings: SimulationSettings) {
        self.functions = functions
        self.policy = policy
        self.settings = settings
    }

    /// Runs it to the end; `progress` is called now and then with the fraction of simulated time done.
    public func run(progress: ((Double) -> Void)? = nil) -> SimulationResult {
        var engine = Engine(functions: functions, policy: policy, settings: settings)
        return engine.run(progress: progress)
    }
}

// MARK: - The engine

private struct Event {
    enum Kind: UInt8 { case arrival, completion, ready, tick, minute }
    /// The time's bits above the insertion number: one integer comparison orders events by time,
    /// ties by insertion (deterministic). Times are never negative, and the bits of non-negative
    /// doubles order as the doubles do.
    var key: UInt128
    var kind: Kind
    var index: Int32  // function (arrival, minute), instance (completion, ready)
    var other: Int32  // request (completion)

    var time: Double { Double(bitPattern: UInt64(truncatingIfNeeded: key >> 64)) }
}

/// A 4-ary min-heap of events: half the levels of a binary heap, and a node's children side by
/// side in memory.
private struct EventQueue {
    private var heap: [Event] = []
    private var seq: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }

    mutating func push(_ time: Double, _ kind: Event.Kind, _ index: Int32, _ other: Int32 = 0) {
        precondition(time >= 0, "an event before the start")
        seq &+= 1
        let bits = time == 0 ? 0 : time.bitPattern  // -0 is 0
        let event = Event(key: UInt128(bits) << 64 | UInt128(seq), kind: kind, index: index, other: other)
        heap.append(event)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 4
            guard event.key < heap[parent].key else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = event
    }

    mutating func pop() -> Event? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        let count = heap.count
        guard count > 0 else { return first }
        heap.withUnsafeMutableBufferPointer { heap in
            var parent = 0
            while true {
                let firstChild = 4 * parent + 1
                guard firstChild < count else { break }
                var child = firstChild
                var key = heap[firstChild].key
                for other in (firstChild + 1)..<min(firstChild + 4, count) {
                    let otherKey = heap[other].key
                    child = otherKey < key ? other : child
                    key = min(key, otherKey)
                }
                guard key < last.key else { break }
                heap[parent] = heap[child]
                parent = child
            }
            heap[parent] = last
        }
        return first
    }
}

/// Elements stored by an `Int32` index, the indices of released ones reused (requests and
/// instances come and go by the million; their arrays stay as large as the most alive at once).
private struct Slots<Element> {
    private(set) var elements: [Element] = []
    private var free: [Int32] = []

    /// Stores `element` and returns its index.
    mutating func insert(_ element: Element) -> Int32 {
        if let index = free.popLast() {
            elements[Int(index)] = element
            return index
        }
        elements.append(element)
        return Int32(elements.count - 1)
    }

    /// Lets `index` be reused (its element stays readable until then).
    mutating func release(_ index: Int32) { free.append(index) }

    subscript(index: Int32) -> Element {
        get { elements[Int(index)] }
        _modify { yield &elements[Int(index)] }
    }
}

private struct Request {
    var function: Int32
    var arrival: Double
    var size: Double
    /// Its number in its function's sequence.
    var index: Int
    /// When it started to run (an instance took it, or the quota scheduler admitted it).
    var started = 0.0
    /// Its quota scheduler ticket, on an instance sharing its GPU.
    var ticket = 0
}

private struct Instance {
    enum State: UInt8 { case starting, ready, draining, stopped }
    var function: Int32
    var rung: Backend
    /// Its node and GPU; node -1 once it gave its resources back while finishing requests.
    var placement: Placement
    /// Its quota scheduler client: unique for the run (instance indices are reused).
    var serial: Int
    /// The client round trip of its node, seconds.
    var rtt: Double
    var startedAt: Double
    var readyAt: Double
    var busy: Int32 = 0
    var slots: Int32
    var state: State

    /// Whether its GPU is shared (an SM share or a time quota): its invocations are admitted by
    /// the GPU's quota scheduler; a whole GPU is its instance's alone.
    var shared: Bool { rung.deviceClass == .gpu && (rung.smPercent < 100 || rung.isShare) }
}

private struct FunctionState {
    var spec: FunctionSpec
    /// Arrival times. A stream of its own, so that every policy sees the same arrivals.
    var random: SplitMix64
    /// Request N's size and service-time draw come from a generator seeded with this and N
    /// (`draws(_:)`): the same for N under every policy, whenever and wherever N runs.
    let requestSeed: UInt64

    /// The generator of request `index`'s own numbers.
    func draws(_ index: Int) -> SplitMix64 {
        var random = SplitMix64(seed: requestSeed &+ UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03)
        _ = random.next()
        return random
    }
    var controller: FunctionController
    var prototype: PrototypeRules?
    /// The rungs its controller may use.
    let rungs: [Backend]
    /// Whether its controller counts instances from the load coming.
    let plansConfigurations: Bool
    var rung: Backend {
        didSet { startsForQueue = FunctionController.poolStartsForQueue(on: rung, among: rungs, plansConfigurations: plansConfigurations) }
    }
    /// Whether a queue starts instances beyond the first (`PoolSettings.startsForQueue`,
    /// `FunctionController.poolStartsForQueue`). Kept with the rung: read at every dispatch, where
    /// asking the controller copied the whole function state.
    var startsForQueue: Bool
    var pool: [Int32] = []
    var nextPool: [Int32] = []
    var pendingSwitch: RungSwitch?
    var queue: Deque<Int32> = []
    var sent = 0
    var minuteArrivals: [Double] = []
    var minuteNext = 0
}

private struct Engine {
    let settings: SimulationSettings
    let policy: PolicyKind
    var functions: [FunctionState] = []
    var events = EventQueue()
    var requests = Slots<Request>()
    var instances = Slots<Instance>()
    var cluster: ClusterState
    /// The quota scheduler of each GPU some shared instance ran on, and what each ticket is.
    var schedulers: [Int: QuotaScheduler] = [:]
    var tickets: [Ticket: (instance: Int32, request: Int32)] = [:]
    var serials = 0
    /// GPU units the functions waiting for room need at least, this tick; the smallest GPU share.
    var pendingUnits = 0
    let smallestGPUUnits: Int
    let base = ContinuousClock.now
    var now = 0.0

    // Results.
    var latencies: [Float] = []
    var arrivals = 0, rejected = 0, timedOut = 0, violations = 0, coldStarts = 0, switches = 0, processed = 0
    var bill = 0.0, provider = 0.0, instanceSeconds = 0.0, gpuShareSeconds = 0.0
    var series: [SeriesPoint] = []
    var bucketCount = 0, bucketSum = 0.0
    var marks: [SwitchMark] = []
    var requestLog: [RequestRecord] = []
    var decisionLog: [DecisionRecord] = []

    init(functions specs: [FunctionSpec], policy: PolicyKind, settings: SimulationSettings) {
        self.settings = settings
        self.policy = policy
        cluster = ClusterState(spec: settings.cluster, gpuHostCores: settings.gpuHostCores)
        let ladder = settings.cluster.ladder
        smallestGPUUnits = ladder.rungs.filter { $0.deviceClass == .gpu }.map { ClusterState.demand($0).gpuUnits }.min() ?? 0
        let topCPU = ladder.rungs.last { $0.deviceClass == .cpu } ?? .cpu(cores: 1)
        let gpu = ladder.rungs.first { $0.deviceClass == .gpu && $0.smPercent == 100 && !$0.isShare }
        for (index, spec) in specs.enumerated() {
            var random = SplitMix64(seed: settings.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
            _ = random.next()
            let requestSeed = random.next()
            let pinned: Backend?
            switch policy {
            case .gaia, .hasGPU: pinned = nil
            case .staticCPU: pinned = settings.staticRung ?? topCPU
            case .staticGPU, .knative: pinned = gpu ?? topCPU
            case .fastGShare: pinned = gpu == nil ? topCPU : .gpu(device: 0, smPercent: settings.fastGShareSM)
            case .gaiaPrototype: pinned = spec.workload.mode == .gpu || spec.workload.mode == .gpuPreferred ? (gpu ?? topCPU) : topCPU
            }
            let inputs = Self.inputs(spec, pinned: pinned, policy: policy, settings: settings)
            var state = FunctionState(
                spec: spec, random: random, requestSeed: requestSeed, controller: FunctionController(inputs, at: base), rungs: inputs.rungs,
                plansConfigurations: inputs.plansConfigurations, rung: inputs.start,
                startsForQueue: FunctionController.poolStartsForQueue(
                    on: inputs.start, among: inputs.rungs, plansConfigurations: inputs.plansConfigurations))
            if policy == .gaiaPrototype { state.prototype = PrototypeRules(start: inputs.start, cpu: topCPU, gpu: gpu) }
            functions.append(state)
        }
    }

    /// What a function's `FunctionController` is built from under a policy.
    static func inputs(_ spec: FunctionSpec, pinned: Backend?, policy: PolicyKind, settings: SimulationSettings) -> FunctionPolicyInputs {
        var keepAlive = settings.keepAlive
        if policy == .knative || policy == .gaiaPrototype || policy == .fastGShare || policy == .hasGPU {
            keepAlive.mode = .fixed(seconds: settings.knativeKeepAlive)
            keepAlive.prewarm = false
        }
        // A fixed share is a rung of its own even where the ladder offers no shares.
        var ladder = settings.cluster.ladder
        if let pinned, !ladder.offers(pinned) { ladder = BackendLadder(rungs: ladder.rungs + [pinned]) }
        var mode = spec.workload.mode
        if policy == .hasGPU, settings.cluster.totalGPUs > 0 {
            // One SM share, every time quota of the grid: the hybrid autoscaler's family.
            let quotas = settings.cluster.quotaPercents.contains { $0 < 100 } ? settings.cluster.quotaPercents : ShareGrid.standard.quotaPercents
            ladder = BackendLadder(rungs: quotas.map { .gpu(device: 0, smPercent: settings.hasGPUSM, quotaPercent: $0) })
            mode = .gpu
        }
        var inputs = FunctionPolicyInputs(
            ladder: ladder, mode: mode, pinned: pinned, slo: spec.slo, work: spec.workload.work,
            concurrency: spec.concurrency, autoscaler: settings.autoscaler, keepAlive: keepAlive, controller: settings.controller,
            prices: settings.prices)
        inputs.gpuMemoryMiB = settings.gpuMemoryMiB
        // The room of the whole cluster: every node's cores, and GPU instances on any GPU.
        let cluster = settings.cluster
        inputs.room = InstanceRoom(
            nodeCores: cluster.classes.flatMap { Array(repeating: $0.cores, count: $0.count) }, gpus: cluster.totalGPUs)
        // Knative, FaST-GShare and the prototype count instances by KPA alone.
        inputs.plansConfigurations = !(policy == .knative || policy == .gaiaPrototype || policy == .fastGShare)
        return inputs
    }

    func instant(_ t: Double) -> ContinuousClock.Instant { base.advanced(by: .nanoseconds(Int64(t * 1e9))) }

    mutating func run(progress: ((Double) -> Void)?) -> SimulationResult {
        for f in functions.indices {
            for _ in 0..<settings.autoscaler.minScale {
                _ = startInstance(Int32(f), on: functions[f].rung, coldStart: settings.minScaleStartsWarm ? 0 : nil)
            }
            scheduleFirstArrival(Int32(f))
        }
        events.push(settings.tick, .tick, 0)
        var nextProgress = 0
        while let event = events.pop() {
            now = event.time
            processed += 1
            switch event.kind {
            case .arrival: arrive(event.index)
            case .completion: complete(instance: event.index, request: event.other)
            case .ready: ready(event.index)
            case .tick: tick()
            case .minute: refillMinute(event.index)
            }
            if let progress, processed >= nextProgress {
                nextProgress = processed + 200_000
                progress(min(1, now / max(settings.duration, 1e-9)))
            }
        }
        for i in instances.elements.indices where instances.elements[i].state != .stopped { stop(Int32(i)) }
        return result()
    }

    // MARK: Arrivals

    mutating func scheduleFirstArrival(_ f: Int32) {
        switch functions[Int(f)].spec.arrivals {
        case .closedLoop: events.push(0, .arrival, f)
        case .perMinute: events.push(0, .minute, f)
        default: scheduleNextArrival(f, after: 0)
        }
    }

    mutating func scheduleNextArrival(_ f: Int32, after t: Double) {
        let process = functions[Int(f)].spec.arrivals
        if let next = nextArrival(process, after: t, end: settings.duration, random: &functions[Int(f)].random) {
            events.push(next, .arrival, f)
        }
    }

    /// The Azure trace's minute `m`: its count of arrivals at uniform random times in the minute.
    mutating func refillMinute(_ f: Int32) {
        guard case .perMinute(let counts) = functions[Int(f)].spec.arrivals else { return }
        let minute = Int((now / 60).rounded())
        guard minute < counts.count, Double(minute) * 60 < settings.duration else { return }
        var times = (0..<counts[minute]).map { _ in now + 60 * functions[Int(f)].random.nextUnit() }
        times.sort()
        for t in times { events.push(t, .arrival, f) }
        events.push(now + 60, .minute, f)
    }

    mutating func arrive(_ f: Int32) {
        let fi = Int(f)
        arrivals += 1
        let index = functions[fi].sent
        functions[fi].sent += 1
        var draws = functions[fi].draws(index)
        let size = functions[fi].spec.sizes.size(index, random: &draws)
        switch functions[fi].spec.arrivals {
        case .poisson, .onOff, .diurnal, .step: scheduleNextArrival(f, after: now)
        case .perMinute, .closedLoop: break  // the minute's batch, or the previous answer, schedules the next
        }
        // Where a queue does not start instances, also what those the controller may still start
        // would take (the live pool's bound, `InstancePool.StateMachine.admissible`).
        let later = functions[fi].startsForQueue ? 0 : max(0, settings.autoscaler.maxScale - functions[fi].pool.count) * functions[fi].spec.concurrency
        guard functions[fi].queue.count < settings.queueLimit + later else {
            rejected += 1
            violations += 1
            nextClosedLoopRequest(f)
            return
        }
        let request = Request(function: f, arrival: now, size: size, index: index)
        functions[fi].queue.append(requests.insert(request))
        dispatch(f)
    }

    /// A closed loop sends its next request when the previous one has ended.
    mutating func nextClosedLoopRequest(_ f: Int32) {
        guard case .closedLoop(let total) = functions[Int(f)].spec.arrivals, functions[Int(f)].sent < total else { return }
        events.push(now, .arrival, f)
    }

    // MARK: Instances

    enum Destination { case pool, nextPool }

    /// Starts an instance of `f` on `rung`, ready after `coldStart` seconds (the workload's cold
    /// start on that rung when nil); nil when no node has room.
    mutating func startInstance(_ f: Int32, on rung: Backend, coldStart: Double? = nil, into destination: Destination = .pool) -> Int32? {
        guard let placement = cluster.place(rung) else { return nil }
        let coldStart = coldStart ?? functions[Int(f)].spec.workload.coldStart(on: rung)
        serials += 1
        let instance = Instance(
            function: f, rung: rung, placement: placement, serial: serials, rtt: cluster.rtt(placement.node), startedAt: now,
            readyAt: now + coldStart, slots: Int32(functions[Int(f)].spec.concurrency), state: coldStart > 0 ? .starting : .ready)
        let id = instances.insert(instance)
        switch destination {
        case .pool: functions[Int(f)].pool.append(id)
        case .nextPool: functions[Int(f)].nextPool.append(id)
        }
        if coldStart > 0 { events.push(now + coldStart, .ready, id) }
        return id
    }

    mutating func ready(_ i: Int32) {
        guard instances[i].state == .starting else { return }
        instances[i].state = .ready
        let f = instances[i].function
        if !functions[Int(f)].nextPool.isEmpty, functions[Int(f)].nextPool.allSatisfy({ instances[$0].state == .ready }) {
            finishSwitch(f)
        }
        dispatch(f)
    }

    /// Stops an instance now (it must be idle), accounting for its lifetime.
    mutating func stop(_ i: Int32) {
        let instance = instances[i]
        guard instance.state != .stopped else { return }
        let seconds = now - instance.startedAt
        instanceSeconds += seconds
        provider += settings.prices.cost(seconds: seconds, on: instance.rung)
        gpuShareSeconds += seconds * Double(ClusterState.demand(instance.rung).gpuUnits) / Double(ClusterState.gpuUnits)
        if instance.placement.node >= 0 { cluster.release(instance.rung, at: instance.placement) }
        instances[i].state = .stopped
        instances.release(i)
    }

    /// Takes an instance out of service: stopped now if idle, else once its requests end.
    mutating func retire(_ i: Int32) {
        if instances[i].busy == 0 { stop(i) } else { instances[i].state = .draining }
    }

    // MARK: Dispatch and completion

    mutating func dispatch(_ f: Int32) {
        let fi = Int(f)
        while let id = functions[fi].queue.first {
            let request = requests[id]
            if now - request.arrival > settings.timeout {
                functions[fi].queue.removeFirst()
                timedOut += 1
                violations += 1
                requests.release(id)
                nextClosedLoopRequest(f)
                continue
            }
            // The live pool's rule (`PoolStateMachine.bestFree`): the most free slots, the oldest on a tie.
            let pool = functions[fi].pool
            guard let position = PoolStateMachine.bestFree(count: pool.count, slots: functions[fi].spec.concurrency, free: {
                let instance = instances[pool[$0]]
                return instance.state == .ready ? Int(instance.slots) - Int(instance.busy) : 0
            }) else { break }
            let i = pool[position]
            functions[fi].queue.removeFirst()
            instances[i].busy += 1
            if instances[i].shared { askDevice(instance: i, request: id) } else { run(instance: i, request: id) }
        }
        // A request that nothing running or starting can take starts an instance (a cold start),
        // up to the most instances allowed, as the live pool does.
        guard !functions[fi].queue.isEmpty else { return }
        // Where the controller counts instances from the load (or the hybrid autoscaler does, on a
        // share family) a queue starts one only from zero, as in the live pool
        // (`FunctionController.poolStartsForQueue`).
        if !functions[fi].startsForQueue && !functions[fi].pool.isEmpty { return }
        var capacity = 0
        var busy = 0
        for i in functions[fi].pool where instances[i].state == .ready || instances[i].state == .starting {
            capacity += Int(instances[i].slots)
            busy += Int(instances[i].busy)
        }
        var missing = functions[fi].queue.count + busy - capacity
        while missing > 0 && functions[fi].pool.count < settings.autoscaler.maxScale {
            guard startInstance(f, on: functions[fi].rung) != nil else { break }
            missing -= functions[fi].spec.concurrency
        }
    }

    /// Starts a request on an instance: it runs for a service time drawn for its rung.
    mutating func run(instance i: Int32, request id: Int32) {
        requests[id].started = now
        let fi = Int(instances[i].function)
        var draws = functions[fi].draws(requests[id].index)
        _ = draws.next()  // past the size's number
        let service = functions[fi].spec.workload.serviceSeconds(on: instances[i].rung, size: requests[id].size, draw: Workload.Draw(random: &draws))
        events.push(now + service, .completion, i, id)
    }

    /// A request on a shared instance asks its GPU's quota scheduler (GaiaCore's `QuotaScheduler`,
    /// as `gaia serve` does) and runs when admitted.
    mutating func askDevice(instance i: Int32, request id: Int32) {
        let instance = instances[i]
        let (ticket, admitted) = schedulers[instance.placement.gpu, default: QuotaScheduler()].request(
            client: String(instance.serial), quotaPercent: instance.rung.quotaPercent, smPercent: instance.rung.smPercent,
            slots: Int(instance.slots), at: instant(now))
        requests[id].ticket = ticket
        tickets[Ticket(gpu: instance.placement.gpu, number: ticket)] = (i, id)
        runAdmitted(admitted, gpu: instance.placement.gpu)
    }

    /// A scheduler's ticket: each GPU's scheduler numbers its own.
    struct Ticket: Hashable {
        var gpu: Int
        var number: QuotaScheduler.Ticket
    }

    mutating func runAdmitted(_ admitted: [QuotaScheduler.Ticket], gpu: Int) {
        for number in admitted {
            if let (i, id) = tickets.removeValue(forKey: Ticket(gpu: gpu, number: number)) { run(instance: i, request: id) }
        }
    }

    mutating func complete(instance i: Int32, request id: Int32) {
        let request = requests[id]
        requests.release(id)
        if instances[i].shared {
            let gpu = instances[i].placement.gpu
            runAdmitted(schedulers[gpu, default: QuotaScheduler()].finished(request.ticket, at: instant(now)), gpu: gpu)
        }
        let fi = Int(request.function)
        let instance = instances[i]
        let service = now - request.arrival
        let latency = service + instance.rtt
        let ms = latency * 1000
        let cold = instance.readyAt > request.arrival && instance.readyAt > instance.startedAt
        latencies.append(Float(ms))
        if cold { coldStarts += 1 }
        if ms > functions[fi].spec.slo.thresholdMs { violations += 1 }
        bill += settings.prices.cost(seconds: latency, on: instance.rung)
        functions[fi].controller.invocationFinished(
            arrived: instant(request.arrival), milliseconds: ms, serviceMilliseconds: (now - request.started) * 1000, on: instance.rung,
            warmAndSuccessful: !cold)
        functions[fi].prototype?.record(at: now, ms: ms, rung: instance.rung)
        if fi == 0 {
            bucketCount += 1
            bucketSum += ms
            if settings.recordRequests {
                requestLog.append(RequestRecord(
                    index: request.index, size: request.size, arrival: request.arrival, milliseconds: ms, rung: instance.rung.description, cold: cold))
            }
        }
        instances[i].busy -= 1
        if instances[i].state == .draining && instances[i].busy == 0 { stop(i) }
        dispatch(request.function)
        if case .closedLoop(let total) = functions[fi].spec.arrivals, functions[fi].sent < total {
            events.push(now + instance.rtt, .arrival, request.function)
        }
    }

    // MARK: Control

    mutating func tick() {
        // Functions waiting on a GPU rung with no instance: the device had no room to start one.
        // Each needs at least the ladder's smallest GPU share; the others' room leaves it that.
        pendingUnits = 0
        for f in functions.indices where waitsForRoom(f) { pendingUnits += smallestGPUUnits }
        for f in functions.indices { control(Int32(f)) }
        recordSeries()
        let busy = !events.isEmpty || functions.contains { !$0.queue.isEmpty }
        if now < settings.duration || busy { events.push(now + settings.tick, .tick, 0) }
    }

    mutating func control(_ f: Int32) {
        let fi = Int(f)
        if var rules = functions[fi].prototype {
            let target = rules.evaluate(at: now)
            functions[fi].prototype = rules
            if let target, target != functions[fi].rung { redeploy(f, on: target) }
        }
        dispatch(f)  // requests waiting past the timeout end even when nothing else happens
        guard functions[fi].pendingSwitch == nil else { return }
        var inPool = Double(functions[fi].queue.count)
        for i in functions[fi].pool { inPool += Double(instances[i].busy) }
        let room = functions[fi].rung.deviceClass == .gpu ? gpuRoom(fi) : 100
        let observation = FunctionObservation(requestsInPool: inPool, instances: functions[fi].pool.count, deviceRoom: room)
        let actions = functions[fi].controller.evaluate(at: instant(now), observing: observation)
        let logs = f == 0 && settings.recordDecisions
        for action in actions {
            switch action {
            case .scale(let from, let to, let reason):
                if logs { decisionLog.append(DecisionRecord(t: now, kind: "scale", from: String(from), to: String(to), reason: reason)) }
                scale(f, to: to)
            case .switchRung(let decision):
                if logs {
                    decisionLog.append(DecisionRecord(
                        t: now, kind: decision.direction.rawValue, from: "\(decision.from)", to: "\(decision.to)", reason: decision.reason))
                }
                beginSwitch(f, decision)
            }
        }
    }

    /// The GPU function `f` may hold, percent of one GPU: what its instances hold and what no one
    /// holds over the cluster's GPUs (it spreads over as many as it needs), less the smallest share
    /// each other function waiting for room needs.
    func gpuRoom(_ f: Int) -> Double {
        let held = functions[f].pool.reduce(0) { $0 + ClusterState.demand(instances[$1].rung).gpuUnits }
        let pending = pendingUnits - (waitsForRoom(f) ? smallestGPUUnits : 0)
        return Double(held - pending) / 100 + cluster.freeGPUPercent
    }

    /// Whether function `f` waits on a GPU rung with no instance.
    func waitsForRoom(_ f: Int) -> Bool {
        functions[f].rung.deviceClass == .gpu && functions[f].pool.isEmpty && !functions[f].queue.isEmpty
    }

    mutating func scale(_ f: Int32, to desired: Int) {
        let fi = Int(f)
        let target = min(max(0, desired), settings.autoscaler.maxScale)
        while functions[fi].pool.count < target {
            guard startInstance(f, on: functions[fi].rung) != nil else { break }
        }
        if functions[fi].pool.count > target {
            // The live pool's rule (`PoolStateMachine.toStop`): idle instances, then starts no
            // longer needed, then busy ones, which drain.
            let pool = functions[fi].pool
            let stopped = PoolStateMachine.toStop(
                count: pool.count, target: target,
                waitedFor: (functions[fi].queue.count + functions[fi].spec.concurrency - 1) / functions[fi].spec.concurrency,
                state: {
                    let instance = instances[pool[$0]]
                    return instance.state == .starting ? .starting : instance.busy == 0 ? .idle : .busy
                })
            for position in stopped.sorted(by: >) {  // from the end: the positions before stay valid
                retire(functions[fi].pool.remove(at: position))
            }
        }
        dispatch(f)
    }

    /// Carries out the controller's switch: in place between CPU rungs (each instance re-placed
    /// with the new cores), else by warming as many instances on the target as run now and moving
    /// traffic once all are ready.
    mutating func beginSwitch(_ f: Int32, _ decision: RungSwitch) {
        let fi = Int(f)
        if decision.from.deviceClass == .cpu && decision.to.deviceClass == .cpu {
            // In place: every instance gives its cores back and takes the new rung's; those that no
            // longer fit (vertical scaling trades replicas for cores) leave the pool, finishing their
            // requests on the cores they had.
            let pool = functions[fi].pool.filter { instances[$0].state != .stopped }
            for i in pool { cluster.release(instances[i].rung, at: instances[i].placement) }
            var kept: [Int32] = []
            for i in pool {
                settle(i, at: now)
                if let placement = cluster.place(decision.to) {
                    instances[i].placement = placement
                    instances[i].rtt = cluster.rtt(placement.node)
                    instances[i].rung = decision.to
                    kept.append(i)
                } else {
                    instances[i].placement.node = -1  // holds nothing now
                    retire(i)
                }
            }
            if kept.isEmpty && !pool.isEmpty {
                functions[fi].pool = []
                functions[fi].controller.switchFailed(decision, reason: "no node has \(decision.to)'s cores free", at: instant(now))
                return
            }
            functions[fi].pool = kept
            moved(f, decision, at: now + settings.resizeSeconds)
            return
        }
        if decision.from.deviceClass == .gpu && decision.from.wholeTime == decision.to.wholeTime {
            // Another time quota on the same SM share: in place, each instance on its own GPU (the
            // quota scheduler applies it from the next invocation); refused if a GPU lacks room.
            let pool = functions[fi].pool.filter { instances[$0].state != .stopped }
            let resized = pool.prefix(while: { cluster.resize(instances[$0].placement, from: instances[$0].rung, to: decision.to) })
            guard resized.count == pool.count else {
                for i in resized { _ = cluster.resize(instances[i].placement, from: decision.to, to: decision.from) }  // a shrink: always fits
                functions[fi].controller.switchFailed(decision, reason: "no room on the GPU for \(decision.to)", at: instant(now))
                return
            }
            for i in pool {
                settle(i, at: now)
                instances[i].rung = decision.to
            }
            moved(f, decision, at: now)
            dispatch(f)
            return
        }
        // Warm as many instances on the target as run now, or as many as fit (at least one).
        let count = max(1, functions[fi].pool.count)
        for _ in 0..<count {
            guard startInstance(f, on: decision.to, into: .nextPool) != nil
            else { break }
        }
        guard !functions[fi].nextPool.isEmpty else {
            if decision.to.deviceClass == .gpu, decision.to.smPercent < decision.from.smPercent, !functions[fi].pool.isEmpty {
                // A smaller share to fit a full GPU, which its own instances fill: no room to warm
                // it first, so the old instances drain and the new start as they leave (a cold start).
                for i in functions[fi].pool { retire(i) }
                functions[fi].pool = []
                moved(f, decision, at: now)
                dispatch(f)
                return
            }
            functions[fi].controller.switchFailed(decision, reason: "no node has room for \(decision.to)", at: instant(now))
            return
        }
        functions[fi].pendingSwitch = decision
    }

    /// Accounts an instance's time on its old rung before it moves to another in place.
    mutating func settle(_ i: Int32, at t: Double) {
        let seconds = t - instances[i].startedAt
        instanceSeconds += seconds
        provider += settings.prices.cost(seconds: seconds, on: instances[i].rung)
        instances[i].startedAt = t
    }

    mutating func finishSwitch(_ f: Int32) {
        let fi = Int(f)
        guard let decision = functions[fi].pendingSwitch else { return }
        for i in functions[fi].pool { retire(i) }
        functions[fi].pool = functions[fi].nextPool
        functions[fi].nextPool = []
        functions[fi].pendingSwitch = nil
        moved(f, decision, at: now)
    }

    /// Traffic of `f` has moved to `decision.to` (at `t`, for its controller).
    mutating func moved(_ f: Int32, _ decision: RungSwitch, at t: Double) {
        functions[Int(f)].rung = decision.to
        functions[Int(f)].controller.switched(decision, at: instant(t))
        noteSwitch(f, decision.from, decision.to)
    }

    /// The prototype's switch: a new revision of the Knative service on the other node class. The
    /// old pods drain; the new revision has none, so the next request waits for a cold start.
    mutating func redeploy(_ f: Int32, on target: Backend) {
        let fi = Int(f)
        let from = functions[fi].rung
        for i in functions[fi].pool { retire(i) }
        functions[fi].pool = []
        functions[fi].rung = target
        functions[fi].prototype?.switched(to: target, at: now)
        let inputs = Self.inputs(functions[fi].spec, pinned: target, policy: policy, settings: settings)
        functions[fi].controller = FunctionController(inputs, at: instant(now))
        noteSwitch(f, from, target)
        dispatch(f)
    }

    mutating func noteSwitch(_ f: Int32, _ from: Backend, _ to: Backend) {
        switches += 1
        if f == 0 { marks.append(SwitchMark(t: now, from: from.description, to: to.description)) }
    }

    mutating func recordSeries() {
        let bucket = settings.seriesBucket
        guard let first = functions.first, now >= Double(series.count + 1) * bucket else { return }
        series.append(SeriesPoint(
            t: Double(series.count) * bucket, requests: bucketCount, meanMs: bucketCount == 0 ? 0 : bucketSum / Double(bucketCount),
            rung: first.rung.description, instances: first.pool.count))
        bucketCount = 0
        bucketSum = 0
    }

    func result() -> SimulationResult {
        // Three order statistics, each selected (expected linear time) in the part of the values
        // above the one before: a full sort of a million latencies was 6% of a run.
        var values = latencies
        var from = 0
        func percentile(_ q: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let k = min(values.count - 1, max(0, Int((q * Double(values.count)).rounded(.up)) - 1))
            values.select(k, from: from)
            from = k
            return Double(values[k])
        }
        let mean = values.isEmpty ? 0 : values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let (p50, p95, p99) = (percentile(0.5), percentile(0.95), percentile(0.99))
        return SimulationResult(
            policy: policy.rawValue, arrivals: arrivals, completed: latencies.count, rejected: rejected, timedOut: timedOut,
            sloViolations: violations, p50Ms: p50, p95Ms: p95, p99Ms: p99, meanMs: mean,
            coldStarts: coldStarts, billUSD: bill, providerUSD: provider, instanceSeconds: instanceSeconds, gpuShareSeconds: gpuShareSeconds,
            peakGPUPercent: cluster.peakGPUPercentInUse, availableGPUPercent: settings.cluster.totalGPUs * 100, switches: switches,
            simulatedSeconds: now, events: processed, series: series, switchMarks: marks, requestLog: requestLog,
            decisionLog: decisionLog)
    }
}
