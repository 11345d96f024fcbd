import GaiaCore
import Testing

struct SLOTests {
    @Test(arguments: [("p95=300ms", "p95=300ms", 300.0), ("P99 = 1.5s", "p99=1500ms", 1500), ("mean=200", "mean=200ms", 200), ("p50=2.5ms", "p50=2.5ms", 2.5)])
    func parses(_ text: String, _ shown: String, _ ms: Double) throws {
        let slo = try SLO(parsing: text)
        #expect(slo.description == shown && slo.thresholdMs == ms)
    }

    @Test(arguments: ["p95", "p97=300ms", "p95=fast", "p95=-3ms", "=300ms"])
    func refusesNonsenseWithAReason(_ text: String) {
        #expect(throws: SLOError.self) { try SLO(parsing: text) }
    }
}
