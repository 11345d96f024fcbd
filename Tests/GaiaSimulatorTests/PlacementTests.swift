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

    @Test func aClusterPlacesFirstFitPerClassAndPerGPUAndGivesBackWhatItTook() throws {
        var cluster = ClusterState(spec: try ClusterSpec(parsing: "edge=2x4,cloud=2x8+2gpu"), gpuHostCores: 2)
        func place(_ rung: Backend) -> Placement? { cluster.place(rung) }
        #expect(place(.cpu(cores: 4))?.node == 0)
        #expect(place(.cpu(cores: 2))?.node == 1)
        #expect(place(.cpu(cores: 16))?.node == 2, "more cores than a node has: a whole node, the first free one (the edge nodes are taken)")
        let half = try #require(place(.gpu(device: 0, smPercent: 50)))
        #expect(half == Placement(node: 2, gpu: 0), "a GPU share on a GPU node, its host cores apart")
        #expect(place(.gpu(device: 0, smPercent: 100)) == Placement(node: 2, gpu: 1))
        #expect(place(.gpu(device: 0, smPercent: 60)) == Placement(node: 3, gpu: 2), "50% left on GPU 0 is not 60%")
        #expect(place(.gpu(device: 0, smPercent: 50, quotaPercent: 50)) == Placement(node: 2, gpu: 0), "SM 50% × quota 50% takes a quarter")
        #expect(place(.gpu(device: 0, smPercent: 50, quotaPercent: 50)) == Placement(node: 2, gpu: 0))
        #expect(place(.gpu(device: 0, smPercent: 50, quotaPercent: 50))?.gpu == 2)
        let resized = cluster.resize(half, from: .gpu(device: 0, smPercent: 50), to: .gpu(device: 0, smPercent: 60))
        #expect(!resized, "GPU 0 is full")
        cluster.release(.cpu(cores: 4), at: Placement(node: 0, gpu: -1))
        #expect(place(.cpu(cores: 3))?.node == 0)
        #expect(cluster.peakGPUPercentInUse == 285)
        cluster.release(.gpu(device: 0, smPercent: 100), at: Placement(node: 2, gpu: 1))
        #expect(cluster.gpuPercentInUse == 185)
        #expect(cluster.freeGPUPercent == 400 - 185)
    }
}
