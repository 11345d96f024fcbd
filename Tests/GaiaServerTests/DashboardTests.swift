import Foundation
import GaiaCore
import GaiaRuntime
import GaiaServer
import GaiaStore
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import Testing

/// The dashboard is served at `/` with its files, and reads only the documented API. (It is tested
/// in a real browser by `bench/dashboard.sh`, which `.ci/run` runs.)
struct DashboardTests {
    func router() throws -> Router<BasicRequestContext> {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-dash-\(UUID().uuidString)").path
        let runtime = FunctionRuntime(
            configuration: RuntimeConfiguration(dataDirectory: dir, python: "/usr/bin/python3"), database: try GaiaDatabase.inMemory())
        return GaiaServer.router(runtime: runtime)
    }

    /// A file of the dashboard as served.
    func served(_ uri: String) async throws -> (contentType: String?, text: String) {
        try await Application(router: try router()).test(.router) { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .ok, "\(uri)")
                return (response.headers[.contentType], String(buffer: response.body))
            }
        }
    }

    @Test func thePageAndItsFilesAreServed() async throws {
        let page = try await served("/")
        #expect(page.contentType?.hasPrefix("text/html") == true)
        #expect(page.text.contains(#"src="/dashboard/app.js""#) && page.text.contains(#"href="/dashboard/style.css""#))
        #expect(try await served("/dashboard/app.js").text.contains(#"from "./charts.js""#))
        for file in ["/dashboard/app.js", "/dashboard/charts.js", "/dashboard/style.css"] {
            let asset = try await served(file)
            #expect(!asset.text.isEmpty)
            #expect(asset.contentType?.hasPrefix(file.hasSuffix(".js") ? "text/javascript" : "text/css") == true)
        }
        try await Application(router: try router()).test(.router) { client in
            try await client.execute(uri: "/dashboard/nothing.js", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test func everyEndpointThePageCallsIsDocumented() async throws {
        let app = try await served("/dashboard/app.js").text
        let charts = try await served("/dashboard/charts.js").text
        // The page's one table of endpoints: `key: ["METHOD", "/path"]`.
        let calls = app.matches(of: try Regex(#"\[\s*"(GET|POST|PATCH|PUT|DELETE)",\s*"([^"]+)"\s*\]"#)).map {
            "\($0.output[1].substring!) \($0.output[2].substring!)"
        }
        #expect(calls.count >= 8, "\(calls)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(GaiaServer.openAPIDocument())) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        for call in calls {
            let parts = call.split(separator: " ")
            #expect(paths[String(parts[1])]?[parts[0].lowercased()] != nil, "the page calls \(call), which /openapi.json does not document")
        }
        // …and nothing else: `call` is the one place that fetches, and every call names a key of the table.
        #expect((app + charts).components(separatedBy: "fetch(").count - 1 == 1, "the page fetches somewhere other than call()")
        let keys = Set(app.matches(of: try Regex(#"\n  (\w+): \[""#)).map { String($0.output[1].substring!) })
        let used = Set(app.matches(of: try Regex(#"(?:^|[^.\w])(?:get|call)\("(\w+)""#)).map { String($0.output[1].substring!) })
        #expect(!used.isEmpty && used.isSubset(of: keys), "the page calls \(used.subtracting(keys).sorted()), not in its table")
    }
}
