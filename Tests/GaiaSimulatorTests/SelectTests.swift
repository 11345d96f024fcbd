import GaiaCore
import Testing

@testable import GaiaSimulator

/// The order statistics a simulation reports (p50, p95, p99) are selected, not sorted for: each
/// must be exactly what a sort gives, duplicates and all.
struct SelectTests {
    @Test func selectingGivesTheSortedOrderStatistics() {
        var rng = SplitMix64(seed: 7)
        for trial in 0..<300 {
            let count = 1 + Int(rng.next() % 400)
            let distinct = trial % 3 == 0 ? 5 : 1_000_000  // many duplicates in a third of the trials
            let values = (0..<count).map { _ in Float(rng.next() % UInt64(distinct)) / 7 }
            let sorted = values.sorted()
            var selected = values
            var from = 0
            for q in [0.5, 0.95, 0.99] {
                let k = min(count - 1, max(0, Int((q * Double(count)).rounded(.up)) - 1))
                selected.select(k, from: from)
                from = k
                #expect(selected[k] == sorted[k], "trial \(trial): q \(q) of \(count)")
                #expect(selected[..<k].allSatisfy { $0 <= selected[k] } && selected[(k + 1)...].allSatisfy { $0 >= selected[k] })
            }
            #expect(selected.sorted() == sorted, "a permutation of the values")
        }
    }
}
