import GaiaCore
import Testing

/// Numbers from requests, files and the store never trap: absurd ones are refused where they are
/// parsed, and a value that slipped past (an old database, code) is clamped where it is used.
struct UntrustedNumbersTests {
    @Test(arguments: ["p95=1e300ms", "p95=300ms,window=1e16s", "p95=2d", "p99=86400001ms", "p95=300ms,cost=1e300"])
    func absurdSLOsAreRefusedWithAReason(_ text: String) {
        #expect(throws: SLOError.self) { try SLO(parsing: text) }
    }

    @Test(arguments: ["fixed(1e16s)", "fixed(31d)", "fixed(800h)", "1e300"])
    func absurdKeepAlivesAreRefusedWithAReason(_ text: String) {
        #expect(throws: KeepAliveError.self) { try KeepAliveSettings.Mode(parsing: text) }
    }

    @Test func valuesThatSlippedPastAreClampedWhereTheyAreUsed() {
        let now = ContinuousClock.now
        let slo = SLO(statistic: .p95, thresholdMs: 1e300, windowSeconds: 1e16)
        #expect(slo.description.hasPrefix("p95=1e+300ms"))
        var controller = ModeController(
            rungs: [.cpu(cores: 1), .cpu(cores: 2)], start: .cpu(cores: 1), slo: slo, model: LatencyModel(parallelFraction: 0.5), at: now)
        #expect(controller.sloWindow == .seconds(30 * 86_400), "the SLO window within 30 days")
        controller.record(latencyMs: .infinity, on: .cpu(cores: 1), at: now)
        _ = controller.evaluate(at: now.advanced(by: .seconds(60)))
        var settings = KeepAliveSettings()
        settings.mode = .fixed(seconds: 1e16)
        #expect(KeepAlivePolicy(settings: settings, loadedAt: now).windows.keepAlive == .seconds(30 * 86_400))
        #expect(Duration.clamped(seconds: .nan) == .zero && Duration.clamped(seconds: -5) == .zero)
        #expect(Duration.clamped(seconds: 1e300) == .longest && Duration.clamped(seconds: 1.5) == .milliseconds(1500))
        var function = FunctionController(autoscaler: AutoscalerSettings(), keepAlive: settings, mode: controller, at: now)
        function.invocationFinished(arrived: now, milliseconds: 1e300, on: .cpu(cores: 1), warmAndSuccessful: true)
        function.invocationFinished(arrived: now, milliseconds: .nan, on: .cpu(cores: 1), warmAndSuccessful: true)
        _ = function.evaluate(at: now.advanced(by: .seconds(1)), observing: FunctionObservation(requestsInPool: .infinity, instances: 1))
    }
}
