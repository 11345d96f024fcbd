import AsyncHTTPClient
import Foundation
import GaiaCore
import GaiaRuntime
import GaiaServer
import GaiaStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import Testing

/// The Dynamic Function Runtime end to end on a live port: real workers, real load, the control
/// loop ticking every 250 ms, the mode controller moving functions between `cpu-1` and `cpu-2`.
@Suite(.serialized)
struct RungSwitchTests {
    /// One response as the client saw it.
    struct Call: Sendable {
        var sent: ContinuousClock.Instant
        var received: ContinuousClock.Instant
        var status: Int
        var cold: Bool
        var backend: String
        var milliseconds: Double
    }

    static let settings: ModeControllerSettings = {
        var s = ModeControllerSettings()
        s.window = .seconds(4)
        s.minSamples = 8
        // A certain violation (all of a few over the SLO) promotes before `minSamples`; these tests
        // time the statistic's own detection, so it needs as many (on a machine slower than when
        // the SLO was measured, the first 6 all missed it and the switch came before the 8th).
        s.minCertainSamples = 8
        s.cooldown = .seconds(2)
        s.demotionWindow = .seconds(6)
        return s
    }()

    func app(verticalScaling: Bool) throws -> (some ApplicationProtocol, FunctionRuntime) {
        let python = try #require(GaiaServerTests.python, "python3 is required for server tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-rung-\(UUID().uuidString)").path
        var configuration = RuntimeConfiguration(dataDirectory: dir, python: python)
        configuration.controller = Self.settings
        configuration.verticalScaling = verticalScaling
        configuration.keepAlive.useDefaultKeepAlive(.seconds(600))
        let runtime = FunctionRuntime(configuration: configuration, database: try GaiaDatabase.inMemory())
        let router = GaiaServer.router(runtime: runtime)
        return (Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))), runtime)
    }

    /// Sends `payload` one request at a time until `until` says stop, pausing `gap` between requests.
    static func load(
        _ client: some TestClientProtocol, _ name: String, payload: String, gap: Duration = .zero, calls: inout [Call],
        until: ([Call]) -> Bool
    ) async throws {
        while !until(calls) {
            let sent = ContinuousClock.now
            let call = try await client.execute(uri: "/v1/functions/\(name)/invoke", method: .post, body: ByteBuffer(string: payload)) { r in
                Call(
                    sent: sent, received: .now, status: Int(r.status.code), cold: r.headers[HTTPField.Name("Gaia-Cold-Start")!] == "true",
                    backend: r.headers[HTTPField.Name("Gaia-Backend")!] ?? "", milliseconds: (ContinuousClock.now - sent).inMilliseconds)
            }
            calls.append(call)
            if gap > .zero { try await Task.sleep(for: gap) }
        }
    }

    /// Runs `body` with the control loop ticking every 250 ms.
    static func ticking<T: Sendable>(_ runtime: FunctionRuntime, _ body: () async throws -> T) async throws -> T {
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                await runtime.tick()
            }
        }
        defer { ticker.cancel() }
        return try await body()
    }

    /// Whether the worker's interpreter has numpy (matmul needs it).
    static let hasNumpy = GaiaServerTests.python.map { PythonInterpreter.canImport(["numpy"], python: $0) } ?? false

    static func median(_ values: [Double]) -> Double { SLO.Statistic.p50.of(values) ?? .nan }

    /// The median latency of matmul (n = 2048) on one and on two cores of this machine, from two
    /// workers pinned like instances on `cpu-1` and `cpu-2`, measured in alternation (so a passing
    /// disturbance touches both), and again, up to three times, while two cores are not clearly
    /// faster: the SLO is derived from what this machine does.
    static func matmulMedians(python: String) async throws -> (one: Double, two: Double) {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/matmul").path
        func worker(_ cores: Int) -> WorkerProcess {
            let backend = Backend.cpu(cores: cores)
            return WorkerProcess(configuration: WorkerConfiguration(
                python: python, functionDirectory: examples, functionName: "matmul", backend: backend,
                cpus: Machine.discover().cores(forInstance: 1, on: backend),
                logPath: FileManager.default.temporaryDirectory.appendingPathComponent("gaia-matmul-\(cores)-\(UUID().uuidString).log").path))
        }
        let workers = [worker(1), worker(2)]
        for w in workers { try await w.start() }
        func time(_ w: WorkerProcess) async throws -> Double {
            let start = ContinuousClock.now
            _ = try await w.invoke(Array(#"{"n": 2048}"#.utf8), contentType: "application/json")
            return (ContinuousClock.now - start).inMilliseconds
        }
        for w in workers { _ = try await time(w) }  // warm-up
        var medians = (one: Double.nan, two: Double.nan)
        for _ in 0..<3 {
            var one: [Double] = []
            var two: [Double] = []
            for _ in 0..<5 {
                one.append(try await time(workers[0]))
                two.append(try await time(workers[1]))
            }
            medians = (median(one), median(two))
            if medians.two < medians.one * 0.9 { break }
        }
        for w in workers { await w.terminate() }
        return medians
    }

    @Test(arguments: [true, false])
    func matmulIsPromotedToTwoCoresUnderLoadAndDemotedWhenTheLoadDrops(verticalScaling: Bool) async throws {
        guard Self.hasNumpy else {
            try Test.cancel("matmul rung-switch test: numpy is not installed for the worker's python")
        }
        guard Machine.discover().cpus.count >= 2 else {
            try Test.cancel("matmul rung-switch test: this process may use only one core")
        }
        // The SLO sits between what one and two cores do here (their geometric mean), so one core
        // misses it and two cores meet it on any machine, however fast or slow.
        let python = try #require(GaiaServerTests.python)
        let (one, two) = try await Self.matmulMedians(python: python)
        let slo = (one * two).squareRoot().rounded()
        print("matmul here: one core \(one) ms, two cores \(two) ms; SLO p50=\(Int(slo))ms")
        try #require(two < one * 0.9, "two cores must be measurably faster than one for this test")
        let (app, runtime) = try app(verticalScaling: verticalScaling)
        try await app.test(.ahc(.http)) { client in
            let deploy = GaiaServerTests.deployBody(
                "matmul", try GaiaServerTests.exampleSource("matmul"), extra: #", "slo": "p50=\#(Int(slo))ms,window=4s", "max_scale": 1"#)
            try await client.execute(uri: "/v1/functions", method: .post, body: deploy) { #expect($0.status == .created) }
            let payload = #"{"n": 2048}"#
            var calls: [Call] = []
            var premiseFailed: String?
            try await Self.ticking(runtime) {
                // Step up: back-to-back requests until it has run 3 s on two cores (or 30 s passed).
                let start = ContinuousClock.now
                try await Self.load(client, "matmul", payload: payload, calls: &calls) { calls in
                    let onTwo = calls.filter { $0.backend == "cpu-2" }
                    return (onTwo.first.map { ContinuousClock.now - $0.sent > .seconds(3) } ?? false) || ContinuousClock.now - start > .seconds(30)
                }
                // Step down: one small request (n = 1024, an eighth of the work) every 2 s until it is
                // back on one core (or 20 s passed): too few to judge the SLO, and one core is
                // expected to meet it for these (it is never demoted to a rung expected to miss it).
                let drop = ContinuousClock.now
                try await Self.load(client, "matmul", payload: #"{"n": 1024}"#, gap: .seconds(2), calls: &calls) { calls in
                    calls.last?.backend == "cpu-1" && calls.last!.sent > drop || ContinuousClock.now - drop > .seconds(20)
                }
                let oneCore = calls.prefix { $0.backend == "cpu-1" }.map(\.milliseconds)
                let twoCores = calls.filter { $0.backend == "cpu-2" }.map(\.milliseconds)
                let decisions = try runtime.database.decisions(of: "matmul").filter { $0.kind != "scale" }
                print(
                    "matmul (vertical scaling \(verticalScaling)): \(calls.count) requests; p50 one core \(Self.median(oneCore)) ms over \(oneCore.count), two cores \(Self.median(twoCores)) ms over \(twoCores.count); decisions: \(decisions.map { "\($0.kind) \($0.from)->\($0.to): \($0.reason)" })"
                )
                let failed = calls.filter { $0.status != 200 }.map(\.status)
                #expect(failed.isEmpty, "no request failed because of a switch")
                #expect(calls.allSatisfy { !$0.cold }, "no request waited for a cold start")
                try #require(oneCore.count >= Self.settings.minSamples)
                let oneCoreMedian = min(Self.median(Array(oneCore.prefix(Self.settings.minSamples))), Self.median(oneCore))
                let twoCoresBarelyFaster = !twoCores.isEmpty && Self.median(twoCores) > Self.median(oneCore) * 0.9
                guard oneCoreMedian > slo * 1.05, !twoCoresBarelyFaster else {
                    // The premise failed: this run's one core did not clearly miss the SLO set from the
                    // medians measured just before (a noisy shared machine where two cores were barely
                    // faster that minute); when and whether it switches is then noise too.
                    premiseFailed = "matmul rung-switch judgement: in this run one core's median was \(oneCoreMedian) ms against the SLO \(slo) ms, two cores' \(Self.median(twoCores)) ms: the machine did not show the difference the test needs"
                    return
                }
                let promotion = try #require(decisions.first)
                #expect(promotion.kind == "promote" && promotion.from == "cpu-1" && promotion.to == "cpu-2")
                #expect(promotion.measuredMs ?? 0 > slo && promotion.predictedMs ?? .infinity <= slo)
                // The violation is detectable once min-samples warm requests have completed on one core.
                let detectable = calls[Self.settings.minSamples - 1].received
                let firstOnTwo = try #require(calls.first { $0.backend == "cpu-2" })
                let toSwitch = (firstOnTwo.sent - detectable).inMilliseconds
                print("matmul: first request on cpu-2 sent \(Int(toSwitch)) ms after the violation was detectable")
                #expect(toSwitch <= 5000)
                #expect(Self.median(twoCores) < Self.median(oneCore), "two cores are faster")
                let demotion = try #require(decisions.dropFirst().first)
                #expect(demotion.kind == "demote" && demotion.to == "cpu-1" && demotion.reason.hasPrefix("low load"))
                #expect(decisions.count == 2)
                #expect(calls.last?.backend == "cpu-1")
                #expect(decisions.allSatisfy { $0.reason.contains(verticalScaling ? "resized in place" : "warmed on") })
            }
            if let premiseFailed { try Test.cancel(Comment(rawValue: premiseFailed)) }  // what follows checks the switch the premise implies
            let cost = try await client.execute(uri: "/v1/functions/matmul/cost", method: .get) { r in
                try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
            }
            let byBackend = try #require(cost?["by_backend"] as? [[String: Any]])
            #expect(Set(byBackend.compactMap { $0["backend"] as? String }) == ["cpu-1", "cpu-2"])
            #expect((cost?["invocations"] as? Int) == calls.count)
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains(#"gaia_function_rung_active{function="matmul",backend="cpu-1"} 1"#))
        }
        await runtime.shutdown()
    }

    /// A wait that more cores cannot shorten, held to an SLO under its own duration: no rung is
    /// predicted to serve it faster (the analyzer's prior: no parallel work), so it stays on
    /// `cpu-1`. (It was promoted to `cpu-2` once and demoted for no improvement before the
    /// controller weighed configurations.)
    @Test func idleWaitIsNotPromotedWhereNoRungServesItFaster() async throws {
        let (app, runtime) = try app(verticalScaling: true)
        try await app.test(.ahc(.http)) { client in
            let deploy = GaiaServerTests.deployBody(
                "idle", try GaiaServerTests.exampleSource("idle"), extra: #", "slo": "p50=150ms,window=4s", "max_scale": 1"#)
            try await client.execute(uri: "/v1/functions", method: .post, body: deploy) { #expect($0.status == .created) }
            var calls: [Call] = []
            try await Self.ticking(runtime) {
                let start = ContinuousClock.now
                try await Self.load(client, "idle", payload: #"{"seconds": 0.2}"#, calls: &calls) { _ in ContinuousClock.now - start > .seconds(14) }
            }
            let decisions = try runtime.database.decisions(of: "idle").filter { $0.kind != "scale" }
            print("idle: \(calls.count) requests; decisions: \(decisions.map { "\($0.kind) \($0.from)->\($0.to): \($0.reason)" })")
            #expect(calls.allSatisfy { $0.status == 200 && !$0.cold })
            #expect(decisions.isEmpty, "never moved: \(decisions.map(\.reason))")
            #expect(calls.allSatisfy { $0.backend == "cpu-1" })
        }
        await runtime.shutdown()
    }
}
