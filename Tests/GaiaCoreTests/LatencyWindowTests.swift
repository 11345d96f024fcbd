import GaiaCore
import Testing

/// The followed window (sorted as recorded, what the mode controller reads every tick) against a
/// pass over the raw samples and a selection, on random sequences: the same values.
struct LatencyWindowTests {
    let t0 = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0.advanced(by: .milliseconds(milliseconds)) }

    @Test(arguments: SLO.Statistic.allCases)
    func theFollowedStatisticIsThePassOverTheWindows(statistic: SLO.Statistic) {
        let rungs: [Backend] = [.cpu(cores: 1), .cpu(cores: 2), .gpu(device: 0, smPercent: 100)]
        for seed in UInt64(1)...20 {
            var random = SplitMix64(seed: seed)
            var window = LatencyWindow(horizon: .seconds(120))
            let span = Duration.seconds(Int(random.next() % 60) + 1)
            var followed = rungs[0]
            var since = at(0)
            window.follow(followed, over: span, since: since)
            var now = 0
            var checked = 0
            for step in 0..<3000 {
                now += Int(random.next() % 200)
                // Reported as they end, so slightly out of order; repeated values; other rungs.
                let arrival = max(0, now - Int(random.next() % 3000))
                let latency = Double(random.next() % 50) * 10
                let service = latency * random.uniform(0.2, 1)
                window.record(latency, service: service, on: rungs[Int(random.next() % 3)], at: at(arrival))
                if random.next() % 500 == 0 {
                    followed = rungs[Int(random.next() % 3)]
                    since = at(now - Int(random.next() % 5000))
                    window.follow(followed, over: span, since: since)
                }
                guard step % 7 == 0 else { continue }
                // Now and then asked about an earlier instant than before (rebuilt from the raw window).
                let asked = random.next() % 50 == 0 ? max(0, now - 1000) : now
                let (latencies, services) = window.latenciesAndServiceTimes(on: followed, over: span, at: at(asked), since: since)
                let got = window.followedStatistic(statistic, at: at(asked))
                #expect(got?.count ?? 0 == latencies.count, "seed \(seed) step \(step)")
                guard let got, let latency = statistic.of(latencies), let service = statistic.of(services) else {
                    #expect(got == nil && latencies.isEmpty, "seed \(seed) step \(step)")
                    continue
                }
                if statistic == .mean {
                    #expect(abs(got.latency - latency) <= 1e-9 * max(1, latency), "seed \(seed) step \(step)")
                    #expect(abs(got.service - service) <= 1e-9 * max(1, service), "seed \(seed) step \(step)")
                } else {
                    #expect(got.latency == latency && got.service == service, "seed \(seed) step \(step)")
                }
                checked += 1
            }
            #expect(checked > 100, "seed \(seed): the window was seldom non-empty")
        }
    }

    @Test func aNaNLatencyNeitherBreaksTheOrderNorStaysForever() {
        var window = LatencyWindow(horizon: .seconds(30))
        window.follow(.cpu(cores: 1), over: .seconds(10), since: at(0))
        window.record(.nan, on: .cpu(cores: 1), at: at(1000))
        window.record(300, on: .cpu(cores: 1), at: at(2000))
        #expect(window.followedStatistic(.p95, at: at(3000))?.latency == 300)
        #expect(window.followedStatistic(.p95, at: at(11_500))?.count == 1, "the first expired")
        #expect(window.followedStatistic(.p95, at: at(12_500)) == nil, "both expired")
    }
}
