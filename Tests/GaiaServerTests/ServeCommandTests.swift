import AsyncHTTPClient
import Foundation
import GaiaAPI
@testable import GaiaRuntime
import GaiaStore
import NIOCore
import NIOHTTP1
import Testing

/// The README's run command as a new user runs it: the built `gaia` binary, `serve --examples
/// examples`, with none of the optional Python frameworks importable. It must answer within 5 s,
/// serve every example but minilm, and say why minilm is not deployed; and the CLI must fail fast
/// when no server listens.
@Suite(.serialized)
struct ServeCommandTests {
    /// `gaia`, built beside this test bundle.
    static var gaia: String? {
        let tests = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        let path = tests.deletingLastPathComponent().appendingPathComponent("gaia").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// A folder of modules that raise ImportError, put first on PYTHONPATH: as if onnxruntime,
    /// torch and transformers were not installed.
    static func shadowedFrameworks() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-shadow-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for module in ["onnxruntime", "torch", "torchvision", "transformers"] {
            try "raise ImportError(\"\(module): not installed (test)\")\n".write(toFile: "\(dir)/\(module).py", atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// A port nothing listens on now.
    static func freePort() -> Int { Int.random(in: 20_000..<40_000) }

    /// Starts `gaia serve --examples examples` on a fresh port and data folder, optional
    /// frameworks shadowed, its output to a log file.
    static func serveExamples(_ gaia: String, _ extra: [String] = []) throws -> (server: Process, port: Int, log: String, data: String) {
        let port = freePort()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-serve-\(UUID().uuidString)").path
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = try shadowedFrameworks()
        let server = try serve(
            gaia, port: port, data: data, ["--examples", repository.appendingPathComponent("examples").path] + extra, log: data + ".log",
            environment: environment)
        return (server, port, data + ".log", data)
    }

    /// Starts `gaia serve` on `port` with `data` and `extra` flags, its output to `log` (created
    /// empty; nil: discarded), with `environment` (nil: this process's).
    static func serve(
        _ gaia: String, port: Int, data: String, _ extra: [String] = [], log: String? = nil, environment: [String: String]? = nil
    ) throws -> Process {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: gaia)
        server.arguments = ["serve", "--port", String(port), "--data-dir", data] + extra
        if let environment { server.environment = environment }
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            server.standardOutput = FileHandle(forWritingAtPath: log)
            server.standardError = FileHandle(forWritingAtPath: log)
        } else {
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
        }
        try server.run()
        return server
    }

    /// The admin token `gaia serve` wrote to its data folder (nil until it has).
    static func token(_ data: String) -> String? {
        FileManager.default.contents(atPath: data + "/admin.token").map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// `POST /v1/functions/NAME/invoke` with a JSON payload.
    static func invoke(_ name: String, port: Int, json: String, token: String?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/functions/\(name)/invoke")
        request.method = .POST
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        return request
    }

    /// Waits (at most `limit`) until `path` answers 200 on the server at `port` with its admin token.
    func waitUntilServing(_ path: String, port: Int, data: String, within limit: Duration = .seconds(10)) async throws {
        let started = ContinuousClock.now
        while (try? await get("http://127.0.0.1:\(port)\(path)", token: Self.token(data)).status) != 200 {
            try #require(ContinuousClock.now - started < limit, "the server did not answer \(path) within \(limit)")
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Invokes `idle` briefly and waits for its answer: an instance is ready after it (a request
    /// sent while the first instance still starts would be refused by a SIGTERM, not drained).
    func warmIdle(port: Int, data: String) async throws {
        let response = try await HTTPClient.shared.execute(
            Self.invoke("idle", port: port, json: #"{"seconds": 0.01}"#, token: Self.token(data)), timeout: .seconds(30))
        try #require(response.status == .ok, "idle answers a warm-up request")
    }

    func get(_ url: String, token: String? = nil) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test func theReadmesRunCommandAnswersWithinFiveSecondsWithoutOptionalFrameworks() async throws {
        guard let gaia = Self.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests (run `swift build` first)")
        }
        let python = try #require(GaiaServerTests.python)
        guard PythonInterpreter.canImport(["numpy"], python: python) else {
            try Test.cancel("numpy is not installed for python3; the examples need it")
        }
        let started = ContinuousClock.now
        let (server, port, log, data) = try Self.serveExamples(gaia)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        var up = false
        while !up && ContinuousClock.now - started < .seconds(5) {
            up = (try? await get("http://127.0.0.1:\(port)/healthz").status) == 200
            if !up { try await Task.sleep(for: .milliseconds(50)) }
        }
        let text = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        try #require(up, "gaia serve did not answer /healthz within 5 s of starting; its log:\n\(text())")
        print("gaia serve --examples answered after \(ContinuousClock.now - started)")
        // The API needs a token; the server wrote an admin token for the CLI beside its data.
        #expect(try await get("http://127.0.0.1:\(port)/v1/functions").status == 401)
        let token = try #require(Self.token(data), "gaia serve wrote no \(data)/admin.token")
        // /readyz answers 503, naming what it waits for, until every example is deployed or refused.
        var ready = false
        var sawStarting = false
        while !ready && ContinuousClock.now - started < .seconds(60) {
            let (status, body) = try await get("http://127.0.0.1:\(port)/readyz")
            let health = try APICoding.decoder().decode(Health.self, from: Data(body))
            ready = status == 200 && health.status == "ready"
            if status == 503 {
                sawStarting = true
                #expect(health.status == "starting" && health.waiting?.isEmpty == false, "\(health)")
            }
            if !ready { try await Task.sleep(for: .milliseconds(20)) }
        }
        try #require(ready, "/readyz never answered ready; the log:\n\(text())")
        print("/readyz ready after \(ContinuousClock.now - started) (saw starting: \(sawStarting))")
        // The examples deploy beside the server: all of them are served within the same 5 s.
        var names: [String] = []
        while ContinuousClock.now - started < .seconds(5) {
            let list = try APICoding.decoder().decode(FunctionList.self, from: Data(try await get("http://127.0.0.1:\(port)/v1/functions", token: token).body))
            names = list.functions.map(\.name)
            if names.count >= 9 && text().contains("function.name=tinyllama") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        print("examples served after \(ContinuousClock.now - started): \(names)")
        // Gaia's own examples and those written for other platforms (Cog, HF Endpoints, Lambda, LitServe, RunPod), unchanged.
        let payloads = [
            "cog-sentiment": #"{"text": "great"}"#, "echo": #"{"n": 64}"#, "hf-classifier": #"{"inputs": "the goal"}"#,
            "idle": #"{"seconds": 0.01}"#, "lambda-anomaly": #"{"values": [1, 2, 3]}"#, "litserve-embed": #"{"text": "hi"}"#,
            "markov": #"{"n": 64}"#, "matmul": #"{"n": 64}"#, "runpod-stream": #"{"n": 3}"#,
        ]
        #expect(names == payloads.keys.sorted())
        for (name, payload) in payloads.sorted(by: { $0.key < $1.key }) {
            let response = try await HTTPClient.shared.execute(Self.invoke(name, port: port, json: payload, token: token), timeout: .seconds(30))
            #expect(response.status.code == 200, "\(name) answers")
        }
        try await streamsWords(gaia, port: port, token: token)
        for example in ["minilm", "matmul-torch", "resnet18", "tinyllama"] {
            #expect(text().contains("function.name=\(example)") && text().contains("ImportError"), "\(example)'s absence is explained:\n\(text())")
        }
        kill(server.processIdentifier, SIGTERM)
        let stopping = ContinuousClock.now
        while server.isRunning && ContinuousClock.now - stopping < .seconds(10) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!server.isRunning, "SIGTERM stops it gracefully")
    }

    /// `gaia invoke markov --stream` prints each word as the generator makes it (300 ms apart), not
    /// all at the end.
    func streamsWords(_ gaia: String, port: Int, token: String) async throws {
        let cli = Process()
        let out = Pipe()
        cli.executableURL = URL(fileURLWithPath: gaia)
        cli.arguments = ["invoke", "markov", "--stream", "--data", #"{"tokens": 5, "delay_ms": 300}"#,
                         "--server", "http://127.0.0.1:\(port)", "--token", token]
        cli.standardOutput = out
        let started = ContinuousClock.now
        try cli.run()
        var arrivals: [(text: String, after: Duration)] = []
        while true {
            let data = out.fileHandleForReading.availableData  // blocks until output or its end
            if data.isEmpty { break }
            arrivals.append((String(decoding: data, as: UTF8.self), ContinuousClock.now - started))
        }
        cli.waitUntilExit()
        let total = ContinuousClock.now - started
        #expect(cli.terminationStatus == 0)
        let words = arrivals.map(\.text).joined().split(separator: " ")
        #expect(words.count == 5, "\(arrivals)")
        let first = try #require(arrivals.first)
        #expect(total - first.after > .milliseconds(900), "the first word came \(first.after) after the start, the end at \(total): \(arrivals)")
    }

    /// SIGTERM with a request in flight: the server stops accepting, the request completes, then
    /// the instances stop and the process exits; no worker process is left.
    @Test func sigtermLetsTheRequestsInFlightFinish() async throws {
        guard let gaia = Self.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests")
        }
        let (server, port, _, data) = try Self.serveExamples(gaia)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try await waitUntilServing("/v1/functions/idle", port: port, data: data)  // examples deploy beside serving
        try await warmIdle(port: port, data: data)
        let request = Self.invoke("idle", port: port, json: #"{"seconds": 1.5}"#, token: Self.token(data))
        let inFlight = Task { try await HTTPClient.shared.execute(request, timeout: .seconds(30)).status.code }
        try await Task.sleep(for: .milliseconds(400))  // the request is running on its instance
        let workers = Self.descendants(of: server.processIdentifier)
        kill(server.processIdentifier, SIGTERM)
        #expect(try await inFlight.value == 200, "the request in flight completes")
        let stopping = ContinuousClock.now
        while server.isRunning && ContinuousClock.now - stopping < .seconds(10) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!server.isRunning, "then the server exits")
        #expect(!workers.isEmpty && workers.allSatisfy { !Zygote.processExists($0) }, "no worker process is left: \(workers)")
    }

    /// SIGTERM while a deploy's first instance is starting (its `init` would take a minute): the
    /// deploy is answered 503 at once, the server exits within seconds, and no process is left.
    @Test func sigtermDuringAnInstanceStartExitsPromptly() async throws {
        guard let gaia = Self.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests")
        }
        let (server, port, log, data) = try Self.serveExamples(gaia)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try await waitUntilServing("/healthz", port: port, data: data)
        var deploy = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/functions")
        deploy.method = .POST
        if let token = Self.token(data) { deploy.headers.add(name: "Authorization", value: "Bearer \(token)") }
        deploy.headers.add(name: "Content-Type", value: "application/json")
        deploy.body = .bytes(ByteBuffer(string: #"{"name": "slow", "files": {"handler.py": "import time\ndef init(context):\n    time.sleep(60)\ndef handle(payload, context):\n    return 1\n"}}"#))
        let inFlight = Task { try await HTTPClient.shared.execute(deploy, timeout: .seconds(90)).status.code }
        try await Task.sleep(for: .milliseconds(1500))  // its instance is in init
        let workers = Self.descendants(of: server.processIdentifier)
        let stopping = ContinuousClock.now
        kill(server.processIdentifier, SIGTERM)
        let status = try? await inFlight.value
        while server.isRunning && ContinuousClock.now - stopping < .seconds(20) { try await Task.sleep(for: .milliseconds(50)) }
        let took = ContinuousClock.now - stopping
        #expect(status == 503, "the deploy is refused as the server shuts down")
        #expect(!server.isRunning && took < .seconds(5), "exited after \(took):\n\(String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self).suffix(2000))")
        #expect(!workers.isEmpty && workers.allSatisfy { !Zygote.processExists($0) }, "no worker process is left: \(workers)")
    }

    /// SIGTERM with a request longer than the grace period: the server waits the grace period, then
    /// cuts the request, stops the instances and exits; no process is left.
    @Test func sigtermCutsWhatOutlastsTheGracePeriod() async throws {
        guard let gaia = Self.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests")
        }
        let (server, port, log, data) = try Self.serveExamples(gaia, ["--shutdown-grace", "1"])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try await waitUntilServing("/v1/functions/idle", port: port, data: data)  // examples deploy beside serving
        try await warmIdle(port: port, data: data)
        let request = Self.invoke("idle", port: port, json: #"{"seconds": 30}"#, token: Self.token(data))
        let inFlight = Task { try? await HTTPClient.shared.execute(request, timeout: .seconds(60)).status.code }
        try await Task.sleep(for: .milliseconds(500))
        let workers = Self.descendants(of: server.processIdentifier)
        let stopping = ContinuousClock.now
        kill(server.processIdentifier, SIGTERM)
        while server.isRunning && ContinuousClock.now - stopping < .seconds(20) { try await Task.sleep(for: .milliseconds(50)) }
        let took = ContinuousClock.now - stopping
        let status = await inFlight.value
        #expect(status != 200, "the 30 s request did not complete")
        #expect(!server.isRunning && took >= .milliseconds(900) && took < .seconds(6), "exited after \(took), grace 1 s:\n\(String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self).suffix(2000))")
        #expect(!workers.isEmpty && workers.allSatisfy { !Zygote.processExists($0) }, "no worker process is left: \(workers)")
    }

    /// Starts `python -c script`, a client whose one printed line `report(of:)` reads.
    static func socketClient(_ python: String, _ script: String) throws -> (process: Process, output: Pipe) {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script]
        process.standardOutput = output
        try process.run()
        return (process, output)
    }

    /// The words of what a `socketClient` printed, once it has exited.
    static func report(of client: (process: Process, output: Pipe)) -> [Substring] {
        client.process.waitUntilExit()
        return String(decoding: client.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")
    }

    /// A connection stalled in the middle of its request headers is closed after the idle timeout
    /// (a slow-loris client cannot hold it), while an answer that takes longer than it is not cut.
    @Test func aStalledConnectionIsClosedButALongAnswerIsNot() async throws {
        guard let gaia = Self.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests")
        }
        let python = try #require(GaiaServerTests.python)
        let (server, port, _, data) = try Self.serveExamples(gaia, ["--idle-timeout", "1"])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try await waitUntilServing("/v1/functions/idle", port: port, data: data)  // examples deploy beside serving
        try await warmIdle(port: port, data: data)
        let stall = try Self.socketClient(python, """
            import socket, time
            s = socket.create_connection(("127.0.0.1", \(port)))
            s.sendall(b"POST /v1/functions/idle/invoke HTTP/1.1\\r\\nHost: x\\r\\n")
            t = time.time(); s.settimeout(10)
            try:
                closed = s.recv(100) == b""
            except OSError:
                closed = False
            print(f"{time.time() - t:.2f} {closed}")
            """)
        // Headers a byte every 0.3 s keep the idle timer reset; the head must still come whole
        // within the idle timeout of the connection opening.
        let drip = try Self.socketClient(python, """
            import socket, time
            s = socket.create_connection(("127.0.0.1", \(port)))
            s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: ")
            t = time.time(); closed = False
            while time.time() - t < 8:
                try:
                    s.sendall(b"a"); time.sleep(0.3)
                except OSError:
                    closed = True; break
            print(f"{time.time() - t:.2f} {closed}")
            """)
        let answer = try await HTTPClient.shared.execute(Self.invoke("idle", port: port, json: #"{"seconds": 2.5}"#, token: Self.token(data)), timeout: .seconds(10))
        #expect(answer.status == .ok, "a 2.5 s answer is not cut by a 1 s idle timeout")
        let report = Self.report(of: stall)
        let waited = try #require(report.first.flatMap { Double($0) })
        #expect(report.last?.hasPrefix("True") == true && waited >= 0.8 && waited < 3, "the stalled connection: \(report)")
        let dripped = Self.report(of: drip)
        let lasted = try #require(dripped.first.flatMap { Double($0) })
        #expect(dripped.last?.hasPrefix("True") == true && lasted < 4, "a head sent a byte at a time is cut: \(dripped)")
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
    }

    /// Every process below `pid` (fork server, workers, forked instances), read from /proc.
    static func descendants(of pid: Int32) -> [Int32] {
        let parent = ProcessStatus.all().mapValues(\.parent)
        return parent.keys.filter { process in
            var p = parent[process]
            while let current = p, current > 1 {
                if current == pid { return true }
                p = parent[current]
            }
            return false
        }
    }

    /// A second `gaia serve` on a port in use says so and exits before starting anything (issue 34:
    /// it logged "gaia serving", then failed in the HTTP server's bind).
    @Test func aSecondServerOnABusyPortSaysSoBeforeStarting() async throws {
        guard let gaia = Self.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests")
        }
        let port = Self.freePort()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-busy-\(UUID().uuidString)").path
        let first = try Self.serve(gaia, port: port, data: data)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        try await waitUntilServing("/healthz", port: port, data: data)
        let log = data + "-second.log"
        let started = ContinuousClock.now
        let second = try Self.serve(gaia, port: port, data: data + "-second", log: log)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        while second.isRunning && ContinuousClock.now - started < .seconds(10) { try await Task.sleep(for: .milliseconds(20)) }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!second.isRunning && second.terminationStatus != 0, "it exits: \(text)")
        #expect(text.contains("port \(port) on 127.0.0.1 is already in use"), "\(text)")
        #expect(!text.contains("gaia serving") && !text.contains("Address already in use"), "\(text)")
        kill(first.processIdentifier, SIGTERM)
        first.waitUntilExit()
    }

    @Test func theCLIFailsFastWhenNoServerListens() throws {
        guard let gaia = Self.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests")
        }
        let client = Process()
        client.executableURL = URL(fileURLWithPath: gaia)
        client.arguments = ["ls", "--server", "http://127.0.0.1:\(Self.freePort())"]
        let output = Pipe()
        client.standardError = output
        client.standardOutput = FileHandle.nullDevice
        let started = ContinuousClock.now
        try client.run()
        let message = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        #expect(ContinuousClock.now - started < .seconds(2), "failed after \(ContinuousClock.now - started)")
        #expect(client.terminationStatus != 0 && message.contains("cannot reach the Gaia server"), "\(message)")
    }

    @Test func gaiaDevicesSaysWhatThisMachineOffers() throws {
        guard let gaia = Self.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests")
        }
        func run(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: gaia)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            return text
        }
        let machine = Machine.discover()
        let text = try run(["devices"])
        #expect(text.contains("CPUs: \(machine.cpus.count)") && text.contains("Ladder: cpu-1"), "\(text)")
        if machine.gpus.isEmpty { #expect(text.contains("GPUs: none"), "\(text)") }
        let json = try JSONSerialization.jsonObject(with: Data(try run(["devices", "-o", "json"]).utf8)) as? [String: Any]
        #expect((json?["cpus"] as? [Int])?.count == machine.cpus.count)
        #expect((json?["ladder"] as? [String])?.first == "cpu-1")
        #expect((json?["gpus"] as? [Any])?.count == machine.gpus.count)
    }
}
