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

    /// SM shares of a GPU the ladder offers (as MPS gives them; 100 is the whole GPU). Time quotas
    /// are not simulated: every share runs at quota 100%.
    public var smShares: [Int] = [100]

    /// The ladder a function sees: CPU rungs up to the largest node's cores, then the SM shares of
    /// a GPU and the whole GPU where any node has one.
    public var ladder: BackendLadder {
        let gpus = classes.contains { $0.gpus > 0 } ? 1 : 0
        let shares = smShares.filter { $0 < 100 }
        return BackendLadder(
            cpuCores: classes.map(\.cores).max() ?? 1, gpuDevices: gpus,
            shares: shares.isEmpty ? .none : ShareGrid(smPercents: shares + [100], quotaPercents: [100]))
    }

    /// Every GPU in the cluster.
    public var totalGPUs: Int { classes.reduce(0) { $0 + $1.count * $1.gpus } }
}

/// Free capacity per node, and placement of instances on it.
struct ClusterState {
    struct Node {
        var nodeClass: Int
        var freeCores: Int
        /// Free GPU, in percent of a GPU summed over the node's GPUs (whole GPUs: multiples of 100).
        var freeGPUPercent: Int
        var gpuCount: Int
    }

    var nodes: [Node] = []
    let spec: ClusterSpec
    /// Free cores and free GPU percent per node, for first fit in log time.
    private var freeCores: FirstFit
    private var freeGPU: FirstFit
    /// Each class's nodes (contiguous, in class order).
    private var classNodes: [Range<Int>] = []
    /// Host cores a GPU instance takes (from its GPU's own, see `demand`).
    let gpuHostCores: Int
    /// GPU percent in use now, and the most ever in use (checked against what exists).
    private(set) var gpuPercentInUse = 0
    private(set) var peakGPUPercentInUse = 0

    init(spec: ClusterSpec, gpuHostCores: Int) {
        self.spec = spec
        self.gpuHostCores = gpuHostCores
        for (index, nodeClass) in spec.classes.enumerated() {
            let first = nodes.count
            for _ in 0..<nodeClass.count {
                nodes.append(Node(nodeClass: index, freeCores: nodeClass.cores, freeGPUPercent: nodeClass.gpus * 100, gpuCount: nodeClass.gpus))
            }
            classNodes.append(first..<nodes.count)
        }
        freeCores = FirstFit(nodes.map(\.freeCores))
        freeGPU = FirstFit(nodes.map(\.freeGPUPercent))
    }

    /// What an instance on `backend` takes: cores, and percent of a GPU. A GPU comes with host
    /// cores of its own for its instances (`gpuHostCores` each), not counted against the node's
    /// CPU rungs: a function warming a GPU rung is never refused because its CPU instances hold
    /// every core.
    func demand(_ backend: Backend) -> (cores: Int, gpuPercent: Int) {
        switch backend {
        case .cpu(let cores, _): (cores, 0)
        case .gpu(_, let sm, _): (0, sm)
        }
    }

    /// Places an instance: the first node with room (GPU instances on GPU nodes; an instance
    /// asking more cores than a node has takes a whole free node). Nil when full.
    mutating func place(_ backend: Backend) -> Int? {
        let (cores, gpu) = demand(backend)
        var found: Int?
        for (c, range) in classNodes.enumerated() where found == nil {
            found = gpu > 0
                ? freeGPU.first(in: range, atLeast: gpu)
                : freeCores.first(in: range, atLeast: min(cores, spec.classes[c].cores))
        }
        guard let index = found else { return nil }
        nodes[index].freeCores -= min(cores, spec.classes[nodes[index].nodeClass].cores)
        nodes[index].freeGPUPercent -= gpu
        freeCores.set(index, nodes[index].freeCores)
        freeGPU.set(index, nodes[index].freeGPUPercent)
        gpuPercentInUse += gpu
        peakGPUPercentInUse = max(peakGPUPercentInUse, gpuPercentInUse)
        return index
    }

    /// Frees what an instance on `backend` took on `node`.
    mutating func release(_ backend: Backend, node: Int) {
        let (cores, gpu) = demand(backend)
        nodes[node].freeCores += min(cores, spec.classes[nodes[node].nodeClass].cores)
        nodes[node].freeGPUPercent += gpu
        freeCores.set(node, nodes[node].freeCores)
        freeGPU.set(node, nodes[node].freeGPUPercent)
        gpuPercentInUse -= gpu
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
