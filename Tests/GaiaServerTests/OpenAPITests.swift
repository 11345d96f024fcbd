import Foundation
import GaiaAPI
import GaiaCore
import GaiaRuntime
import GaiaServer
import GaiaStore
import Hummingbird
import Testing

/// `GET /openapi.json` stays true: its paths and methods are exactly the registered routes, and
/// each schema names exactly the keys the API types encode.
struct OpenAPITests {
    static let methods: Set<String> = ["get", "post", "put", "delete", "patch"]

    func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(GaiaServer.openAPIDocument())) as? [String: Any])
    }

    @Test func theDocumentListsExactlyTheRegisteredRoutes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-openapi-\(UUID().uuidString)").path
        let runtime = FunctionRuntime(
            configuration: RuntimeConfiguration(dataDirectory: dir, python: "/usr/bin/python3"), database: try GaiaDatabase.inMemory())
        let router = GaiaServer.router(runtime: runtime)
        let registered = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description.hasPrefix("/") ? "" : "/")\($0.path)" })
        let paths = try #require(try document()["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in
            operations.keys.filter { Self.methods.contains($0) }.map { "\($0.uppercased()) \(path)" }
        })
        #expect(registered.count >= 11)
        #expect(registered == documented, "registered only: \(registered.subtracting(documented).sorted()); documented only: \(documented.subtracting(registered).sorted())")
    }

    /// The keys `value` encodes to at its top level.
    func keys(_ value: some Encodable) throws -> Set<String> {
        let object = try JSONSerialization.jsonObject(with: try APICoding.encoder().encode(value)) as? [String: Any]
        return Set(try #require(object).keys)
    }

    func check(_ schema: String, _ value: some Encodable) throws {
        let schemas = try #require((try document()["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let definition = try #require(schemas[schema] as? [String: Any], "no schema \(schema)")
        let properties = Set(try #require(definition["properties"] as? [String: Any]).keys)
        let required = Set(definition["required"] as? [String] ?? [])
        let encoded = try keys(value)
        #expect(encoded.isSubset(of: properties), "\(schema) does not document \(encoded.subtracting(properties).sorted())")
        #expect(required.isSubset(of: encoded), "\(schema) requires \(required.subtracting(encoded).sorted()), which the type does not always send")
    }

    @Test func eachSchemaNamesTheKeysItsTypeEncodes() throws {
        let date = Date(timeIntervalSince1970: 1_800_000_000)
        let rung = FunctionDescription.Rung(backend: "cpu-2", predictedMs: 120, measured: false)
        let state = FunctionDescription.RungState(current: "cpu-1", start: "cpu-1", slo: "p95=300ms", ladder: [rung], parallelFraction: 0.9, fitted: false)
        let decision = FunctionDescription.Decision(at: date, kind: "promote", from: "cpu-1", to: "cpu-2", reason: "r", measuredMs: 1, predictedMs: 2, tookMs: 3)
        let manifest = FunctionManifest(
            name: "f", entryPoint: "handler.py", handler: "handle", detectedMode: .cpu, confidence: 0.9, rationale: "r", evidence: [],
            frameworks: [], estimatedWork: WorkEstimate(), analyzerVersion: "1")
        try check("FunctionDescription", FunctionDescription(
            name: "f", revision: 1, instances: 1, deployedAt: date, manifest: manifest, invocations: 2, coldStarts: 1, costUSD: 0.1,
            rung: state, decisions: [decision]))
        try check("RungState", state)
        try check("Rung", rung)
        try check("Decision", decision)
        try check("FunctionList", FunctionList(functions: []))
        let activity = FunctionList.Activity(seconds: 60, invocations: 2, errors: 1, coldStarts: 1, costUSD: 1, p50Ms: 1, p95Ms: 2, p99Ms: 3)
        try check("FunctionListItem", FunctionList.Item(
            name: "f", revision: 1, mode: .cpu, confidence: 0.9, backend: "cpu-1", instances: 0, deployedAt: date, slo: .default,
            lastMinute: activity, lastHour: FunctionList.Activity(seconds: 3600)))
        try check("Activity", activity)
        try check("Activity", FunctionList.Activity(seconds: 3600))
        try check("FunctionUpdate", FunctionUpdate(slo: "p95=1s", mode: "auto", minScale: 0, maxScale: 2))
        try check("FunctionSourceFiles", FunctionSourceFiles(name: "f", revision: 1, entryPoint: "handler.py", files: ["handler.py": ""]))
        try check("DecisionList", DecisionList(decisions: [decision]))
        let gpu = MachineDescription.GPU(index: 0, name: "H100", uuid: "GPU-1", memoryTotalMiB: 81_559, memoryUsedMiB: 0, utilizationPercent: 0)
        let machineRung = MachineDescription.Rung(backend: "gpu0", pricePerSecondUSD: 1, functions: ["f"], instances: 1)
        try check("MachineDescription", MachineDescription(cpus: [0], gpus: [gpu], gpuProblem: "p", mps: true, ladder: [machineRung]))
        try check("MachineGPU", gpu)
        try check("MachineGPU", MachineDescription.GPU(index: 0, name: "H100", uuid: "GPU-1", memoryTotalMiB: 1))
        try check("MachineRung", machineRung)
        let tokenInfo = TokenInfo(id: "abc", name: "ci", scopes: ["invoke"], createdAt: date)
        try check("CreateToken", CreateToken(name: "ci", scopes: ["invoke"]))
        try check("TokenInfo", tokenInfo)
        try check("CreatedToken", CreatedToken(info: tokenInfo, token: "gaia_x"))
        try check("TokenList", TokenList(tokens: [tokenInfo]))
        let backendCost = CostReport.BackendCost(
            backend: "cpu-1", invocations: 1, successful: 1, billedUSD: 1, billedPer1000USD: 1, meanMs: 1, instanceSeconds: 1,
            providerCostUSD: 1, pricePerSecondUSD: 1)
        let prices = CostReport.Prices(vcpuSecond: 1, memoryGiBSecond: 1, gpuSecond: 1, memoryGiBPerInstance: 1)
        try check("CostReport", CostReport(
            function: "f", invocations: 1, billedUSD: 1, billedPer1000USD: 1, instanceSeconds: 1, providerCostUSD: 1,
            byBackend: [backendCost], prices: prices))
        try check("BackendCost", backendCost)
        try check("Prices", prices)
        try check("InvocationList", InvocationList(invocations: []))
        let running = InvocationList.Running(id: "inv_1", at: date, revision: 1, backend: "cpu-1", elapsedMs: 12)
        try check("InvocationList", InvocationList(invocations: [], inFlight: [running]))
        try check("RunningInvocation", running)
        try check("Invocation", InvocationList.Item(
            at: date, revision: 1, backend: "cpu-1", coldStart: false, durationMs: 1, queueMs: 0, status: 200, costUSD: 0))
        try check("DeployFunction", DeployFunction(
            name: "f", files: [:], mode: .cpu, minScale: 0, maxScale: 1, slo: "p95=1s", concurrency: 1, keepAlive: "adaptive", prewarm: true))
        try check("Error", APIErrorBody(code: "c", message: "m", traceback: "t"))
        try check("Health", Health())
    }
}
