import Foundation
import GaiaCore
import Testing

@testable import GaiaRuntime

/// Stamped log lines: what `gaia logs --since` and `--follow` read.
struct LogLinesTests {
    @Test func linesMergeInTimeOrderAndContinuationsKeepTheirLinesTime() {
        let instance = """
            a line from before any stamp
            2026-12-07T23:40:01.100Z loading
            2026-12-07T23:40:03.000Z Traceback (most recent call last):
              File "handler.py", line 3
            ValueError: no
            """
        let notes = "2026-12-07T23:40:02.500Z inv_1 failed with 500: ValueError: no\n"
        let merged = LogLines.merged([("i0", instance), ("gaia", notes)], since: "2026-12-07T23:40:01.500Z")
        #expect(merged == [
            "2026-12-07T23:40:02.500Z gaia | inv_1 failed with 500: ValueError: no",
            "2026-12-07T23:40:03.000Z i0 | Traceback (most recent call last):",
            #"2026-12-07T23:40:03.000Z i0 |   File "handler.py", line 3"#,
            "2026-12-07T23:40:03.000Z i0 | ValueError: no",
        ])
        #expect(LogLines.merged([("i0", instance)], since: "2026-12-07T23:40:00.000Z").count == 4, "the unstamped first line has no time")
    }

    @Test func sinceIsReadAsISO8601WithOrWithoutFractions() {
        #expect(LogLines.stamp(parsing: "2026-12-07T23:40:01Z") == "2026-12-07T23:40:01.000Z")
        #expect(LogLines.stamp(parsing: "2026-12-07T23:40:01.25Z") == "2026-12-07T23:40:01.250Z")
        #expect(LogLines.stamp(parsing: "yesterday") == nil)
        #expect(LogLines.stamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
    }

    /// An instance stamps what the function prints; the platform's note of a failed invocation
    /// is stamped the same way; `since` keeps what came after.
    @Test func aFunctionsLogsAreStampedAndReadSince() async throws {
        let rt = try testRuntime("logs")
        let source = "print('loading', flush=True)\ndef handle(p, c):\n    print('got', p, flush=True)\n    if p.get('fail'):\n        raise ValueError('asked to fail')\n    return p\n"
        try await rt.deploy(DeployRequest(name: "talker", files: ["handler.py": Array(source.utf8)]))
        let before = LogLines.stamp(Date())
        _ = try await rt.invoke("talker", body: Array(#"{"n": 1}"#.utf8), contentType: "application/json")
        _ = try? await rt.invoke("talker", body: Array(#"{"fail": true}"#.utf8), contentType: "application/json")
        var merged = ""
        for _ in 0..<50 where !merged.contains("gaia | ") {  // the platform's note is appended off the runtime's actor
            merged = try await rt.logs("talker", since: before)
            try await Task.sleep(for: .milliseconds(20))
        }
        let lines = merged.split(separator: "\n")
        #expect(lines.contains { $0.hasSuffix(" | got {'n': 1}") && $0.dropFirst(25).hasPrefix("i") }, "an instance's line names it: \(merged)")
        #expect(lines.contains { $0.contains("gaia | inv_") && $0.contains("failed with 500: the handler raised ValueError: asked to fail") }, "\(merged)")
        #expect(!merged.contains("loading"), "init printed before `since`: \(merged)")
        #expect(lines.allSatisfy { LogLines.stamp(parsing: String($0.prefix(24))) != nil }, "every line begins with its time")
        #expect(lines.map { $0.prefix(24) } == lines.map { $0.prefix(24) }.sorted(), "in time order")
        let whole = try await rt.logs("talker")
        #expect(whole.contains("Z loading"), "the whole log keeps each line's stamp: \(whole)")
        #expect(try await rt.logs("talker", since: LogLines.stamp(Date().addingTimeInterval(60))).isEmpty)
        await rt.shutdown()
    }
}
