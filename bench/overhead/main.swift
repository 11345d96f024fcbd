// Gateway overhead: warm `echo` through the HTTP API vs the runtime directly, same process, same run.
// `overhead-bench [REQUESTS] [CONCURRENCY]`. Prints p50/p99 of both, the added latency, and req/s.
import AsyncHTTPClient
import Foundation
import GaiaCore
import GaiaRuntime
import GaiaServer
import GaiaStore
import Hummingbird
import NIOCore
import NIOHTTP1

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let requests = arguments.first ?? 2000
let concurrency = arguments.dropFirst().first ?? 16
let port = 18_181

func pct(_ v: [Double], _ p: Double) -> Double { let s = v.sorted(); return s[min(s.count - 1, Int(Double(s.count) * p))] }

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-overhead-\(UUID().uuidString)").path
var configuration = RuntimeConfiguration(dataDirectory: dir, python: try PythonInterpreter.resolve("python3"))
configuration.pool.maxScale = 2
configuration.autoscaler.maxScale = 2
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
// On disk, as `gaia serve` keeps it: each invocation's record is committed before its answer.
let database = try GaiaDatabase(path: dir + "/gaia.sqlite")
let runtime = FunctionRuntime(configuration: configuration, database: database)
try await runtime.deploy(DeployRequest(name: "echo", files: ["handler.py": Array("def handle(payload, context):\n    return payload\n".utf8)]))
let app = Application(router: GaiaServer.router(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: port)))
let body = Array(#"{"hello": "world", "n": 42}"#.utf8)
let clock = ContinuousClock()

try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await app.runService() }
    let url = "http://127.0.0.1:\(port)/v1/functions/echo/invoke"
    func post() async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw CLIFailure("HTTP \(response.status)") }
    }
    struct CLIFailure: Error { let message: String; init(_ m: String) { message = m } }
    for _ in 0..<200 {  // wait for the server, then warm up both paths
        if (try? await post()) != nil { break }
        try await Task.sleep(for: .milliseconds(50))
    }
    for _ in 0..<200 {
        try await post()
        _ = try await runtime.invoke("echo", body: body, contentType: "application/json")
    }
    var direct: [Double] = []
    var gateway: [Double] = []
    for _ in 0..<requests {  // alternate so drift affects both alike
        direct.append((try await clock.measure { _ = try await runtime.invoke("echo", body: body, contentType: "application/json") }).inMilliseconds)
        gateway.append((try await clock.measure { try await post() }).inMilliseconds)
    }
    let started = clock.now
    try await withThrowingTaskGroup(of: Void.self) { clients in
        for c in 0..<concurrency {
            clients.addTask { for _ in stride(from: c, to: requests, by: concurrency) { try await post() } }
        }
        try await clients.waitForAll()
    }
    let elapsed = (clock.now - started).inMilliseconds / 1000
    print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(requests) warm echo requests each way, alternating")
    print(String(format: "  runtime directly (pool + worker):  p50 %.3f ms  p99 %.3f ms", pct(direct, 0.5), pct(direct, 0.99)))
    print(String(format: "  through the HTTP gateway:          p50 %.3f ms  p99 %.3f ms", pct(gateway, 0.5), pct(gateway, 0.99)))
    print(String(format: "  added by the gateway:              p50 %.3f ms  p99 %.3f ms", pct(gateway, 0.5) - pct(direct, 0.5), pct(gateway, 0.99) - pct(direct, 0.99)))
    print(String(format: "  throughput, %d concurrent clients, 2 instances: %.0f req/s", concurrency, Double(requests) / elapsed))
    // Each record went to the journal before its answer; the control tick moves them into the
    // database in batches (here all at once, timed).
    let flush = await clock.measure { await runtime.flushRecords() }
    let committed = await runtime.records.committed
    print(String(format: "  invocation records journaled, then committed in one batch: %d in %.1f ms", committed, flush.inMilliseconds))
    group.cancelAll()
}
await runtime.shutdown()
