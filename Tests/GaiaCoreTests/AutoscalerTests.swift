import GaiaCore
import Testing

/// The KPA-style autoscaler driven by a manual clock: no sleeping, time is an input.
struct AutoscalerTests {
    let t0 = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0.advanced(by: .milliseconds(Int(seconds * 1000))) }

    /// Feeds one sample per second of `concurrency` from `from` to `to` (exclusive).
    func feed(_ a: inout Autoscaler, _ concurrency: Double, from: Double, to: Double) {
        var t = from
        while t < to {
            a.record(concurrency: concurrency, at: at(t))
            t += 1
        }
    }

    @Test func steadyLoadGetsLoadOverTarget() {
        var a = Autoscaler()
        feed(&a, 3.5, from: 0, to: 60)
        let d = a.evaluate(current: 5, at: at(59))
        #expect(d.desired == 5)  // 3.5 / 0.7
        #expect(!d.panicking)
        #expect(d.reason.hasPrefix("stable"))
    }

    @Test func aBurstPanicsAndScalesUpAtOnce() {
        var a = Autoscaler()
        feed(&a, 0.7, from: 0, to: 60)
        #expect(a.evaluate(current: 1, at: at(59)).desired == 1)
        feed(&a, 7, from: 60, to: 66)
        let d = a.evaluate(current: 1, at: at(65))
        #expect(d.panicking)
        #expect(d.desired == 10)  // 7 / 0.7 over the panic window, far over 2× one instance
    }

    @Test func noScaleDownWhilePanickingThenCalmAfterAStableWindow() {
        var a = Autoscaler()
        feed(&a, 7, from: 0, to: 6)
        #expect(a.evaluate(current: 1, at: at(5)).panicking)
        feed(&a, 0.7, from: 6, to: 30)
        let during = a.evaluate(current: 10, at: at(29))
        #expect(during.panicking && during.desired == 10, "\(during.reason)")
        feed(&a, 0.7, from: 30, to: 130)
        let after = a.evaluate(current: 10, at: at(129))
        #expect(!after.panicking)
        #expect(after.desired == 5, "the scale-down rate halves at most: \(after.reason)")
    }

    @Test func noLoadWantsNoInstancesKeepAliveIsNotItsDecision() {
        var a = Autoscaler()
        feed(&a, 1, from: 0, to: 10)
        feed(&a, 0, from: 10, to: 200)
        let d = a.evaluate(current: 1, at: at(199))
        #expect(d.desired == 0, "\(d.reason)")
    }

    @Test func minAndMaxScaleClamp() {
        var settings = AutoscalerSettings()
        settings.minScale = 2
        settings.maxScale = 4
        var a = Autoscaler(settings: settings)
        feed(&a, 0, from: 0, to: 300)
        #expect(a.evaluate(current: 2, at: at(299)).desired == 2)
        feed(&a, 50, from: 300, to: 400)
        #expect(a.evaluate(current: 4, at: at(399)).desired == 4)
    }

    @Test func withoutObservationsItKeepsWhatItHas() {
        var a = Autoscaler()
        let d = a.evaluate(current: 3, at: at(0))
        #expect(d.desired == 3 && d.reason.contains("no observations"))
    }
}
