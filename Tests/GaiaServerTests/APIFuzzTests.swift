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

/// Hostile input to the API, seeded: every request has at least one field no platform should
/// take (huge and non-finite numbers, odd Unicode, path tricks, wrong types); each must be answered
/// with a 4xx JSON error, the server must stay healthy after each, a refused deploy must leave
/// nothing on disk, and the function deployed beforehand must keep serving.
struct APIFuzzTests {
    static let hostileNames = [
        "", "A", "a²", "ａ", "-a", "1a", "a b", "a/b", "..", "a\u{0}", "😀", "é", "a_b", "a.b", String(repeating: "a", count: 64),
        "\u{202E}cba", "a\n",
    ]
    static let hostilePaths = [
        ".", "./", "", "/etc/passwd", "../x", "a/../../x", "a//b", "handler.py/", "./handler.py", "a/./b", String(repeating: "x", count: 300),
        "a\\b", "a\u{7}b", "a\u{0}b", String(repeating: "d/", count: 600) + "f",
    ]
    static let hostileSLOs = [
        "p95=1e300ms", "p95=1e16s", "p95=300ms,window=1e16s", "p95=NaNms", "p95=infms", "p95=-1ms", "p101=3ms", "", "p95", "p95=300ms,cost=1e300",
        "p95=300ms,window=0.5s", "p95=300ms,burst=2", "p95=３00ms",
    ]
    static let hostileKeepAlives = ["fixed(1e16s)", "fixed(-1s)", "fixed(NaNs)", "fixed()", "sometimes", "fixed(1e400s)"]
    static let hostileRungs = ["gpu99", "cpu-0", "cpu-99999999999999999999", "gpu0-0", "cpu-1q0", "cpu-1q101", "tpu0", "cpu--1", "cpu-1e3"]
    /// JSON fragments for numeric fields: beyond Int, non-integral, negative, wrong type, over the ceilings.
    static let hostileCounts = ["1e20", "-1", "1.5", "\"3\"", "true", "null123", "99999999999999999999999", "1000001", "-9223372036854775808"]

    struct Case: CustomStringConvertible {
        var method: HTTPRequest.Method
        var uri: String
        var body: String
        /// A deploy that must leave no folder behind.
        var deployName: String?
        var description: String { "\(method) \(uri) \(body.prefix(160))" }
    }

    static func json(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed]), as: UTF8.self).dropFirst().dropLast().description
    }

    /// `count` hostile requests from `seed`.
    static func cases(seed: UInt64, count: Int) -> [Case] {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ list: [T]) -> T { list[Int(rng.next() % UInt64(list.count))] }
        let handler = json("def handle(payload, context):\n    return payload\n")
        var cases: [Case] = []
        while cases.count < count {
            let name = "fz\(cases.count)"
            switch rng.next() % 8 {
            case 0:  // a hostile name
                let bad = pick(hostileNames)
                cases.append(Case(method: .post, uri: "/v1/functions", body: #"{"name": \#(json(bad)), "files": {"handler.py": \#(handler)}}"#))
            case 1:  // a hostile path beside a good handler
                let path = pick(hostilePaths)
                cases.append(Case(
                    method: .post, uri: "/v1/functions", body: #"{"name": "\#(name)", "files": {"handler.py": \#(handler), \#(json(path)): "x"}}"#,
                    deployName: name))
            case 2:  // a file and a folder of the same name
                cases.append(Case(
                    method: .post, uri: "/v1/functions",
                    body: #"{"name": "\#(name)", "files": {"handler.py": \#(handler), "m": "x", "m/n.py": "y"}}"#, deployName: name))
            case 3:  // a hostile option
                let option: String
                switch rng.next() % 5 {
                case 0: option = #""slo": \#(json(pick(hostileSLOs)))"#
                case 1: option = #""keep_alive": \#(json(pick(hostileKeepAlives)))"#
                case 2: option = #""rung": \#(json(pick(hostileRungs)))"#
                case 3: option = #""\#(pick(["min_scale", "max_scale", "concurrency", "max_batch"]))": \#(pick(hostileCounts))"#
                default: option = #""mode": \#(json(pick(["quantum", "GPU", "", "cpu ", "auto"])))"#
                }
                cases.append(Case(
                    method: .post, uri: "/v1/functions", body: #"{"name": "\#(name)", "files": {"handler.py": \#(handler)}, \#(option)}"#,
                    deployName: name))
            case 4:  // a hostile settings change of the deployed function
                let change: String
                switch rng.next() % 3 {
                case 0: change = #"{"slo": \#(json(pick(hostileSLOs)))}"#
                case 1: change = #"{"\#(pick(["min_scale", "max_scale"]))": \#(pick(hostileCounts))}"#
                default: change = #"{"mode": \#(json(pick(["quantum", "GPU", "", "gpu "])))}"#
                }
                cases.append(Case(method: .patch, uri: "/v1/functions/echo", body: change))
            case 5:  // a body that is not what it says
                let body = pick(["", "{", "[]", "null", "\u{FEFF}{}", #"{"name": 1, "files": []}"#, #"{"name": "x", "files": {"handler.py": 7}}"#,
                                 String(repeating: "[", count: 10_000)])
                cases.append(Case(method: pick([.post, .patch]), uri: pick(["/v1/functions", "/v1/functions/echo"]), body: body))
            case 6:  // a hostile name in a path
                let bad = pick(hostileNames + ["%00", "%2e%2e", "..%2f..%2fetc", "a%C2%B2", "%E2%80%AE", String(repeating: "z", count: 2000)])
                let encoded = bad.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? "x"
                let route = pick(["", "/cost", "/source", "/decisions", "/invocations", "/logs"])
                cases.append(Case(method: pick([.get, .delete]), uri: "/v1/functions/\(encoded.isEmpty ? "%20" : encoded)\(route)", body: ""))
            default:  // hostile query numbers
                let limit = pick(["-1", "0", "1e20", "abc", "99999999999999999999", "NaN", ""])
                cases.append(Case(method: .get, uri: "/v1/functions/echo/\(pick(["invocations", "decisions"]))?limit=\(limit)x", body: ""))
            }
        }
        return cases
    }

    @Test func twoHundredAndFortyHostileRequestsAreRefusedCleanlyAndNothingIsLeftBehind() async throws {
        let python = try #require(GaiaServerTests.python, "python3 is required for server tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-fuzz-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runtime = FunctionRuntime(configuration: RuntimeConfiguration(dataDirectory: dir, python: python), database: try GaiaDatabase.inMemory())
        let app = Application(router: GaiaServer.router(runtime: runtime, maxBodyBytes: 64 * 1024))
        let cases = Self.cases(seed: 0x6A1A, count: 240)
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/v1/functions", method: .post, body: GaiaServerTests.deployBody("echo", GaiaServerTests.echo)) { #expect($0.status == .created) }
            var statuses: [Int: Int] = [:]
            for c in cases {
                try await client.execute(uri: c.uri, method: c.method, body: ByteBuffer(string: c.body)) { response in
                    let code = Int(response.status.code)
                    statuses[code, default: 0] += 1
                    // Queries of the deployed function may be answered (a bad limit is clamped); all else is refused.
                    let answeredQuery = c.method == .get && c.uri.hasPrefix("/v1/functions/echo/") && code == 200
                    #expect((400..<500).contains(code) || answeredQuery, "\(c) -> \(code) \(String(buffer: response.body).prefix(200))")
                    if !answeredQuery, code != 404 || c.uri.hasPrefix("/v1/functions") {
                        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
                        #expect((object?["error"] as? [String: Any])?["code"] is String, "\(c) -> \(code) without a JSON error")
                    }
                }
                try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok, "unhealthy after \(c)") }
                if let name = c.deployName {
                    #expect(!FileManager.default.fileExists(atPath: "\(dir)/functions/\(name)"), "\(c) left \(dir)/functions/\(name)")
                }
            }
            print("API fuzz: \(cases.count) hostile requests, answers \(statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))")
            try await client.execute(uri: "/v1/functions/echo/invoke", method: .post, body: ByteBuffer(string: #"{"still": true}"#)) { response in
                #expect(response.status == .ok && String(buffer: response.body) == #"{"still": true}"#)
            }
            try await client.execute(uri: "/v1/functions", method: .get) { response in
                let names = ((try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any])?["functions"] as? [[String: Any]]
                #expect(names?.compactMap { $0["name"] as? String } == ["echo"], "only the good function is deployed")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/functions") == ["echo"])
        await runtime.shutdown()
    }
}
