import Foundation
public import GaiaCore

/// The machines a simulation runs on: classes of identical nodes (edge CPU-only, cloud GPU…), each
/// with a network round trip between the client and its nodes.
public struct ClusterSpec: Sendable, Hashable {
    /// One class of identical nodes.
    public struct NodeClass: Sendable, Hashable {
        /// Its name (`edge`, `cloud`).
        public var name: String
        /// How many nodes.
        public var count: Int
        /// CPU cores per node.
        public var cores: Int
        /// Whole GPUs per node.
        public var gpus: Int
        /// Client round trip to a node of this class, ms, added to every response it serves.
        public var rttMs: Double

        /// A node class.
        public init(name: String, count: Int, cores: Int, gpus: Int = 0, rttMs: Double = 0) {
            self.name = name
            self.count = count
            self.cores = cores
            self.gpus = gpus
            self.rttMs = rttMs
        }
    }

    /// The classes.
    public var classes: [NodeClass]

    /// A cluster.
    public init(classes: [NodeClass]) {
        self.classes = classes
    }

    /// One node with `cores` cores and `gpus` GPUs (the prototype's experiments ran one function on
    /// one CPU node or one GPU node).
    public static func single(cores: Int, gpus: Int) -> ClusterSpec {
        ClusterSpec(classes: [NodeClass(name: "node", count: 1, cores: cores, gpus: gpus)])
    }

    /// Parses `NAME=COUNTxCORES[+GPUSgpu][@RTTms]` entries separated by commas, e.g.
    /// `edge=8x8@5ms,cloud=2x32+4gpu@25ms`.
    public init(parsing text: String) throws {
        var classes: [NodeClass] = []
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw SimulationError("cluster entry '\(entry)': write NAME=COUNTxCORES[+Ngpu][@RTTms]") }
            var spec = parts[1]
            var rtt = 0.0
            if let at = spec.firstIndex(of: "@") {
                let raw = spec[spec.index(after: at)...].replacingOccurrences(of: "ms", with: "")
                guard let value = Double(raw), value.isFinite, (0...100_000).contains(value) else { throw SimulationError("cluster entry '\(entry)': bad round trip") }
                rtt = value
                spec = String(spec[..<at])
            }
            var gpus = 0
            if let plus = spec.firstIndex(of: "+") {
                let raw = spec[spec.index(after: plus)...].replacingOccurrences(of: "gpu", with: "")
                guard let value = Int(raw), (0...64).contains(value) else { throw SimulationError("cluster entry '\(entry)': bad GPU count") }
                gpus = value
                spec = String(spec[..<plus])
            }
            let counts = spec.split(separator: "x").compactMap { Int($0) }
            guard counts.count == 2, (1...100_000).contains(counts[0]), (1...1024).contains(counts[1]) else {
                throw SimulationError("cluster entry '\(entry)': write COUNTxCORES, e.g. 4x16")
            }
            classes.append(NodeClass(name: parts[0], count: counts[0], cores: counts[1], gpus: gpus, rttMs: rtt))
        }
        guard !classes.isEmpty else { throw SimulationError("the cluster has no nodes") }
        self.init(classes: classes)
    }

    /// SM shares of a GPU the ladder offers (as MPS gives them; 100 is the whole GPU).
    public var smShares: [Int] = [100]
    /// Time quotas the ladder offers on each SM share (100: none; HAS-GPU's grid is 10…100 by 10).
    /// An instance with a quota under 100% is admitted to its GPU by the quota scheduler.
    public var quotaPercents: [Int] = [100]

    /// The ladder a function sees: CPU rungs up to the largest node's cores, then the SM shares of
    /// a GPU with each time quota, and the whole GPU, where any node has one.
    public var ladder: BackendLadder {
        let gpus = classes.contains { $0.gpus > 0 } ? 1 : 0
        let shares = smShares.filter { $0 < 100 }
        let quotas = quotaPercents.filter { $0 < 100 }
        return BackendLadder(
            cpuCores: classes.map(\.cores).max() ?? 1, gpuDevices: gpus,
            shares: shares.isEmpty && quotas.isEmpty ? .none : ShareGrid(smPercents: shares + [100], quotaPercents: quotas + [100]))
    }

    /// Every GPU in the cluster.
    public var totalGPUs: Int { classes.reduce(0) { $0 + $1.count * $1.gpus } }
}

/// Where an instance was placed: its node, and its GPU (an index over the cluster's GPUs; -1 for a
/// CPU instance).
struct Placement: Hashable {
    var node: Int
    var gpu: Int
}

/// Free capacity per node and per GPU, and placement of instances on it. A GPU's capacity is
/// 10,000 units: an instance takes its SM share × its time quota (a whole GPU all of it; two
/// instances on half the SMs at half the time each fit beside a third on half the SMs, whole time).
struct ClusterState {
    struct Node {
        var nodeClass: Int
        var freeCores: Int
        /// Its GPUs, as indices into `gpuFree`.
        var gpus: Range<Int>
    }

    /// Units of one GPU.
    static let gpuUnits = 10_000

    var nodes: [Node] = []
    let spec: ClusterSpec
    /// Free units per GPU.
    private(set) var gpuFree: [Int] = []
    /// The node of each GPU.
    private var gpuNode: [Int] = []
    /// Free cores per node, and the most free units of any of a node's GPUs, for first fit in log time.
    private var freeCores: FirstFit
    private var freeGPU: FirstFit
    /// Each class's nodes (contiguous, in class order).
    private var classNodes: [Range<Int>] = []
    /// Host cores a GPU instance takes (from its GPU's own, see `demand`).
    let gpuHostCores: Int
    /// GPU units in use now, and the most ever in use (checked against what exists).
    private(set) var gpuUnitsInUse = 0
    private(set) var peakGPUUnitsInUse = 0

    init(spec: ClusterSpec, gpuHostCores: Int) {
        self.spec = spec
        self.gpuHostCores = gpuHostCores
        for (index, nodeClass) in spec.classes.enumerated() {
            let first = nodes.count
            for _ in 0..<nodeClass.count {
                nodes.append(Node(nodeClass: index, freeCores: nodeClass.cores, gpus: gpuFree.count..<(gpuFree.count + nodeClass.gpus)))
                gpuFree += Array(repeating: Self.gpuUnits, count: nodeClass.gpus)
                gpuNode += Array(repeating: nodes.count - 1, count: nodeClass.gpus)
            }
            classNodes.append(first..<nodes.count)
        }
        freeCores = FirstFit(nodes.map(\.freeCores))
        freeGPU = FirstFit(nodes.map { $0.gpus.isEmpty ? .min : Self.gpuUnits })
    }

    /// Percent of one GPU in use now, and the most ever.
    var gpuPercentInUse: Double { Double(gpuUnitsInUse) / 100 }
    var peakGPUPercentInUse: Int { (peakGPUUnitsInUse + 99) / 100 }
    /// Free GPU over the whole cluster, percent of one GPU.
    var freeGPUPercent: Double { Double(gpuFree.count * Self.gpuUnits - gpuUnitsInUse) / 100 }

    /// What an instance on `backend` takes: cores, and units of a GPU. A GPU comes with host cores
    /// of its own for its instances (`gpuHostCores` each), not counted against the node's CPU rungs:
    /// a function warming a GPU rung is never refused because its CPU instances hold every core.
    static func demand(_ backend: Backend) -> (cores: Int, gpuUnits: Int) {
        switch backend {
        case .cpu(let cores, _): (cores, 0)
        case .gpu: (0, backend.smPercent * backend.quotaPercent)
        }
    }

    /// Places an instance: the first node with room (GPU instances on the first GPU with room; an
    /// instance asking more cores than a node has takes a whole free node). Nil when full.
    mutating func place(_ backend: Backend) -> Placement? {
        let (cores, units) = Self.demand(backend)
        var found: Int?
        for (c, range) in classNodes.enumerated() where found == nil {
            found = units > 0
                ? freeGPU.first(in: range, atLeast: units)
                : freeCores.first(in: range, atLeast: min(cores, spec.classes[c].cores))
        }
        guard let index = found else { return nil }
        var gpu = -1
        if units > 0 {
            gpu = nodes[index].gpus.first { gpuFree[$0] >= units }!
            take(units, gpu: gpu)
        } else {
            setFreeCores(nodes[index].freeCores - taken(cores, of: index), node: index)
        }
        return Placement(node: index, gpu: gpu)
    }

    /// Frees what an instance on `backend` took at `placement`.
    mutating func release(_ backend: Backend, at placement: Placement) {
        let (cores, units) = Self.demand(backend)
        if placement.gpu >= 0 {
            take(-units, gpu: placement.gpu)
        } else {
            setFreeCores(nodes[placement.node].freeCores + taken(cores, of: placement.node), node: placement.node)
        }
    }

    /// Moves an instance on a GPU from `old` to `new` (another time quota, in place); false, with
    /// nothing changed, when its GPU has no room for the difference.
    mutating func resize(_ placement: Placement, from old: Backend, to new: Backend) -> Bool {
        let change = Self.demand(new).gpuUnits - Self.demand(old).gpuUnits
        guard placement.gpu >= 0, gpuFree[placement.gpu] >= change else { return false }
        take(change, gpu: placement.gpu)
        return true
    }

    private mutating func take(_ units: Int, gpu: Int) {
        gpuFree[gpu] -= units
        gpuUnitsInUse += units
        peakGPUUnitsInUse = max(peakGPUUnitsInUse, gpuUnitsInUse)
        let node = gpuNode[gpu]
        freeGPU.set(node, nodes[node].gpus.map { gpuFree[$0] }.max() ?? .min)
    }

    /// The cores an instance asking `cores` takes of `node`: at most all it has.
    private func taken(_ cores: Int, of node: Int) -> Int { min(cores, spec.classes[nodes[node].nodeClass].cores) }

    private mutating func setFreeCores(_ value: Int, node: Int) {
        nodes[node].freeCores = value
        freeCores.set(node, value)
    }

    /// The client round trip of a node, seconds.
    func rtt(_ node: Int) -> Double { spec.classes[nodes[node].nodeClass].rttMs / 1000 }
}

/// Values by index in a max tree: the first index of a range holding at least a demand, in log
/// time (first-fit placement over thousands of nodes, at every instance start).
struct FirstFit {
    /// Leaves from `size` on; each inner node the largest of its two children.
    private var tree: [Int]
    private let size: Int

    init(_ values: [Int]) {
        var size = 1
        while size < values.count { size *= 2 }
        self.size = size
        tree = Array(repeating: .min, count: 2 * size)
        for (i, value) in values.enumerated() { tree[size + i] = value }
        for node in stride(from: size - 1, through: 1, by: -1) { tree[node] = max(tree[2 * node], tree[2 * node + 1]) }
    }

    mutating func set(_ index: Int, _ value: Int) {
        var node = size + index
        tree[node] = value
        while node > 1 {
            node /= 2
            tree[node] = max(tree[2 * node], tree[2 * node + 1])
        }
    }

    /// The first index in `range` whose value is at least `need`.
    func first(in range: Range<Int>, atLeast need: Int) -> Int? {
        first(node: 1, covering: 0..<size, in: range, atLeast: need)
    }

    private func first(node: Int, covering span: Range<Int>, in range: Range<Int>, atLeast need: Int) -> Int? {
        guard tree[node] >= need, span.overlaps(range) else { return nil }
        if span.count == 1 { return span.lowerBound }
        let mid = span.lowerBound + span.count / 2
        return first(node: 2 * node, covering: span.lowerBound..<mid, in: range, atLeast: need)
            ?? first(node: 2 * node + 1, covering: mid..<span.upperBound, in: range, atLeast: need)
    }
}
