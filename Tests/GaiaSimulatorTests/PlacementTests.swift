import GaiaCore
import Testing

@testable import GaiaSimulator

/// The placement tree against the first-fit scan it replaced.
struct PlacementTests {
    @Test func theTreeFindsTheFirstNodeWithRoomAsAScanWould() {
        var random = SplitMix64(seed: 7)
        var values = (0..<37).map { _ in Int(random.next() % 65) }
        var tree = FirstFit(values)
        for _ in 0..<5000 {
            let index = Int(random.next() % UInt64(values.count))
            values[index] = Int(random.next() % 65)
            tree.set(index, values[index])
            let low = Int(random.next() % UInt64(values.count))
            let high = low + Int(random.next() % UInt64(values.count - low + 1))
            let need = Int(random.next() % 70)
            #expect(tree.first(in: low..<high, atLeast: need) == (low..<high).first { values[$0] >= need })
        }
    }

    @Test func aClusterPlacesFirstFitPerClassAndGivesBackWhatItTook() throws {
        var cluster = ClusterState(spec: try ClusterSpec(parsing: "edge=2x4,cloud=2x8+1gpu"), gpuHostCores: 2)
        #expect(cluster.place(.cpu(cores: 4)) == 0)
        #expect(cluster.place(.cpu(cores: 2)) == 1)
        #expect(cluster.place(.cpu(cores: 16)) == 2, "more cores than a node has: a whole node, the first free one (the edge nodes are taken)")
        #expect(cluster.place(.gpu(device: 0, smPercent: 50)) == 2, "GPU share on a GPU node, its host cores apart")
        #expect(cluster.place(.gpu(device: 0, smPercent: 100)) == 3)
        #expect(cluster.place(.gpu(device: 0, smPercent: 60)) == nil, "50% left on node 2, nothing on node 3")
        cluster.release(.cpu(cores: 4), node: 0)
        #expect(cluster.place(.cpu(cores: 3)) == 0)
        #expect(cluster.peakGPUPercentInUse == 150)
    }
}
