import GaiaCore
import Testing

/// The keep-alive policy on arrival sequences, replayed on a manual clock (1 s ticks): cold starts
/// and idle instance-seconds of the adaptive policy beside a fixed 10-minute keep-alive.
struct KeepAlivePolicyTests {
    let t0 = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0.advanced(by: .milliseconds(Int64((seconds * 1000).rounded()))) }

    /// What one policy came to over a sequence.
    struct Outcome: CustomStringConvertible {
        var coldStarts = 0
        var idleSeconds = 0.0
        var description: String { "\(coldStarts) cold starts, \(Int(idleSeconds)) idle instance-seconds" }
    }

    /// Replays arrivals (seconds from the start; each runs `duration` seconds) against a policy: an
    /// arrival with no instance loaded is a cold start; every second with no request running, the
    /// instance is kept or loaded only if the policy wants one. Returns cold starts and the
    /// seconds an instance was loaded with nothing to run.
    func replay(_ arrivals: [Double], duration: Double = 0.1, policy: KeepAlivePolicy) -> Outcome {
        var policy = policy
        var outcome = Outcome()
        var loaded = false
        var next = 0
        let end = (arrivals.last ?? 0) + 3600
        var t = 0.0
        while t < end {
            var busy = 0.0
            var loadedThisSecond = loaded
            while next < arrivals.count && arrivals[next] < t + 1 {
                if !loaded { outcome.coldStarts += 1 }
                loaded = true
                loadedThisSecond = true
                policy.arrival(at: at(arrivals[next]))
                policy.completion(at: at(arrivals[next] + duration))
                busy += duration
                next += 1
            }
            if loadedThisSecond { outcome.idleSeconds += max(0, 1 - busy) }
            loaded = policy.wantsInstance(at: at(t + 1))  // the tick: keep, unload or pre-warm
            t += 1
        }
        return outcome
    }

    static let day = 24 * 3600.0

    /// Every 5 minutes, ±5 s.
    static let periodic: [Double] = {
        var rng = SplitMix64(seed: 1)
        return stride(from: 60.0, to: day, by: 300).map { $0 + rng.uniform(-5, 5) }
    }()

    /// Bursts of 20 requests 1 s apart every 30 minutes.
    static let bursty: [Double] = stride(from: 60.0, to: day, by: 1800).flatMap { start in (0..<20).map { start + Double($0) } }

    /// Poisson arrivals, 3 minutes apart on average.
    static let random: [Double] = {
        var rng = SplitMix64(seed: 7)
        var t = 0.0
        var arrivals: [Double] = []
        while t < day {
            t += -180 * log(1 - rng.uniform(0, 1))
            arrivals.append(t)
        }
        return arrivals
    }()

    func compare(_ name: String, _ arrivals: [Double]) -> (fixed: Outcome, adaptive: Outcome) {
        var fixed = KeepAliveSettings()
        fixed.mode = .fixed(seconds: 600)
        let f = replay(arrivals, policy: KeepAlivePolicy(settings: fixed))
        let a = replay(arrivals, policy: KeepAlivePolicy())
        print("keep-alive, \(name) (\(arrivals.count) requests in 24 h): fixed 10 min: \(f); adaptive: \(a)")
        return (f, a)
    }

    @Test func periodicArrivalsNoMoreColdStartsAndLessIdleTime() {
        let (fixed, adaptive) = compare("periodic every 5 min", Self.periodic)
        #expect(adaptive.coldStarts <= fixed.coldStarts)
        #expect(adaptive.idleSeconds < fixed.idleSeconds / 2)
    }

    @Test func burstyArrivalsKeepTheInstanceThroughTheGap() {
        let (fixed, adaptive) = compare("bursts every 30 min", Self.bursty)
        // Fixed 10 min loses the instance in every 30-minute gap; the histogram's tail covers it.
        #expect(fixed.coldStarts >= 47)
        #expect(adaptive.coldStarts < fixed.coldStarts / 4)
    }

    @Test func randomArrivalsStayWithinReason() {
        let (fixed, adaptive) = compare("Poisson, mean 3 min", Self.random)
        #expect(adaptive.coldStarts <= fixed.coldStarts + Self.random.count / 20)
    }

    @Test func windowsComeFromThePercentilesWithAMargin() {
        var p = KeepAlivePolicy()
        #expect(p.windows.reason.contains("too few"))
        for i in 0..<100 {
            p.arrival(at: at(Double(i) * 100))
            p.completion(at: at(Double(i) * 100 + 1))
        }
        let w = p.windows  // every idle time is 99 s
        #expect(w.prewarm == .milliseconds(89_100))  // 99 × 0.9
        // The 99th percentile with its margin ends 20.8 s later; the keep-alive floor makes it 60 s.
        #expect(w.keepAlive == .seconds(60))
        #expect(!p.wantsInstance(at: at(9901 + 50)) && p.wantsInstance(at: at(9901 + 95)) && !p.wantsInstance(at: at(9901 + 200)))
        var q = KeepAlivePolicy()
        for i in 0..<20 {
            q.arrival(at: at(Double(i) * 20000))
            q.completion(at: at(Double(i) * 20000 + 1))
        }
        #expect(q.windows.reason.contains("exceed"))  // 5.5-hour gaps: outside the 4-hour histogram
        #expect(q.windows.keepAlive == .seconds(600))
    }

    @Test(arguments: [("adaptive", "adaptive"), ("fixed(600s)", "fixed(600s)"), ("fixed(10m)", "fixed(600s)"), ("90", "fixed(90s)"), ("soon", "")])
    func keepAliveSettingsParse(_ text: String, _ shown: String) {
        let mode = try? KeepAliveSettings.Mode(parsing: text)
        #expect(mode?.description ?? "" == shown)
    }
}

#if canImport(Glibc)
import Glibc
#endif
