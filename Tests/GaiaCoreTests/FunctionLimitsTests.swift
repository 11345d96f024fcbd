import GaiaCore
import Testing

/// One check of a function's settings (deploy, update) and one bounding of a stored manifest
/// (restart); the machine's capacity and its fair share.
struct FunctionLimitsTests {
    let limits = FunctionLimits(defaults: AutoscalerSettings(), capacity: InstanceCapacity(cores: 2, memoryMiB: 24_000, processLimit: nil))

    func refusal(minScale: Int? = nil, maxScale: Int? = nil, concurrency: Int? = nil, maxBatch: Int? = nil) -> FunctionSettingsError? {
        do {
            try limits.check(minScale: minScale, maxScale: maxScale, concurrency: concurrency, maxBatch: maxBatch)
            return nil
        } catch {
            return error
        }
    }

    @Test func settingsAreCheckedAgainstTheBoundsAsTheyWillApply() {
        #expect(refusal(minScale: 2, maxScale: 4) == nil)
        #expect(refusal(minScale: 11)?.description == "min scale 11 is above max scale 10 (the platform's default; give max scale too)")
        #expect(refusal(minScale: 5, maxScale: 3)?.description == "min scale 5 is above max scale 3")
        #expect(refusal(minScale: 17, maxScale: 20)?.code == "over_capacity")
        #expect(refusal(minScale: 17, maxScale: 20)?.description.contains("this machine runs at most 16 instances (2 cores × 8 instances a core)") == true)
        #expect(refusal(minScale: 1000, maxScale: 1000)?.code == "over_capacity")
        #expect(refusal(maxScale: 1001)?.code == "invalid_scale")
        #expect(refusal(minScale: -1)?.code == "invalid_scale")
        #expect(refusal(concurrency: 0)?.code == "invalid_scale")
        #expect(refusal(maxBatch: 2000)?.code == "invalid_batch")
        #expect(refusal(maxScale: 40) == nil, "a maximum beyond the machine is a ceiling: the machine's capacity bounds it")
    }

    @Test func aStoredManifestIsBroughtWithinTheBounds() {
        var manifest = FunctionManifest(
            name: "f", entryPoint: "handler.py", handler: "handle", detectedMode: .cpu, confidence: 1, rationale: "", evidence: [],
            frameworks: [], estimatedWork: WorkEstimate(), partial: false, diagnostics: [], analyzerVersion: "test")
        #expect(limits.bounded(manifest).changes.isEmpty)
        (manifest.minScale, manifest.concurrency, manifest.keepAlive, manifest.rung) = (11, 0, "forever", "cpu-x")
        let (bounded, changes) = limits.bounded(manifest)
        #expect(bounded.minScale == 10 && bounded.concurrency == 1 && bounded.keepAlive == nil && bounded.rung == nil)
        #expect(changes.count == 4, "\(changes)")
        manifest.maxScale = 100
        manifest.minScale = 50
        #expect(limits.bounded(manifest).manifest.minScale == 16, "a minimum beyond the machine is lowered to it")
    }

    @Test func capacityIsTheFewestOfCoresMemoryAndProcesses() {
        #expect(InstanceCapacity(cores: 2, memoryMiB: 24_000, processLimit: nil).instances == 16)
        #expect(InstanceCapacity(cores: 64, memoryMiB: 2048, processLimit: nil).description == "8 instances (2 GiB of memory, 256 MiB an instance)")
        #expect(InstanceCapacity(cores: 64, memoryMiB: nil, processLimit: 40).instances == 10)
        #expect(InstanceCapacity(cores: 2, memoryMiB: 1, processLimit: 1).instances == 1, "at least one")
        #expect(InstanceCapacity(cores: 2, memoryMiB: nil, processLimit: nil, operatorLimit: 3).description == "3 instances (the server's max_instances)")
    }

    @Test(arguments: [
        // needs, kept, capacity, grants
        ([4, 4], [0, 0], 4, [2, 2]),
        ([1, 9], [0, 0], 6, [1, 5]),  // the small need is met, the rest goes to the large one
        ([0, 2], [3, 0], 4, [2, 2]),  // idle keep-alive instances yield to a need
        ([3, 3, 3], [0, 0, 0], 7, [3, 2, 2]),  // a remainder to the earliest
        ([1, 1], [1, 1], 10, [2, 2]),  // it all fits
        ([0, 1], [1, 0], 1, [0, 1]),
    ])
    func theMachineIsSharedMaxMinFairlyNeedsFirst(_ needs: [Int], _ kept: [Int], _ capacity: Int, _ grants: [Int]) {
        let machine = InstanceCapacity(cores: 1, memoryMiB: nil, processLimit: nil, operatorLimit: capacity)
        let shared = machine.share(needs: needs, kept: kept)
        #expect(shared == grants)
        #expect(shared.reduce(0, +) <= capacity && zip(shared, zip(needs, kept)).allSatisfy { $0 <= $1.0 + $1.1 })
    }
}
