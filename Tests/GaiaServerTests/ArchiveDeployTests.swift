import Foundation
import GaiaRuntime
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import Testing

/// Folders with binary files deploy as archives: multipart (a `function` part and an `archive`
/// part, what `gaia deploy` sends) or an archive alone with its options in the query; the handler
/// reads its files back byte for byte, and archives that reach out of the folder are refused.
struct ArchiveDeployTests {
    static let handler = """
        import base64, os

        def handle(payload, context):
            with open(os.path.join(os.path.dirname(__file__), "model", "weights.bin"), "rb") as f:
                return {"weights": base64.b64encode(f.read()).decode()}
        """
    static let weights = (0..<200_000).map { UInt8(truncatingIfNeeded: ($0 &* 7_919) ^ ($0 >> 7)) }

    /// What the handler read, decoded from its answer.
    static func weights(in answer: ByteBuffer) -> [UInt8]? {
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: answer))) as? [String: Any]
        return (object?["weights"] as? String).flatMap { Data(base64Encoded: $0) }.map(Array.init)
    }

    /// The standard output of a Python script.
    static func python(_ script: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(GaiaServerTests.python))
        process.arguments = ["-c", script]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(script) failed")
        return Array(data)
    }

    static func multipart(_ function: String, archive: [UInt8]) -> (ByteBuffer, HTTPFields) {
        let boundary = "gaia-test-boundary"
        var body = ByteBuffer()
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"function\"\r\nContent-Type: application/json\r\n\r\n\(function)\r\n")
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"f.tar.gz\"\r\nContent-Type: application/gzip\r\n\r\n")
        body.writeBytes(archive)
        body.writeString("\r\n--\(boundary)--\r\n")
        return (body, [.contentType: "multipart/form-data; boundary=\(boundary)"])
    }

    @Test func multipartAndArchiveBodiesDeployBinaryFilesByteForByte() async throws {
        let (app, runtime) = try GaiaServerTests().app(maxBody: 4 << 20)
        let archive = try FunctionArchive.tarGz(["handler.py": Array(Self.handler.utf8), "model/weights.bin": Self.weights])
        try await app.test(.router) { client in
            let (body, headers) = Self.multipart(#"{"name": "weights", "min_scale": 0}"#, archive: archive)
            try await client.execute(uri: "/v1/functions", method: .post, headers: headers, body: body) {
                #expect($0.status == .created, "\(String(buffer: $0.body))")
            }
            try await client.execute(uri: "/v1/functions/weights/invoke", method: .post, body: ByteBuffer(string: "{}")) {
                #expect(Self.weights(in: $0.body) == Self.weights, "\(String(buffer: $0.body).prefix(300))")
            }
            // The archive alone, options in the query.
            try await client.execute(
                uri: "/v1/functions?name=weights2&max_scale=2&slo=p95%3D300ms", method: .post, headers: [.contentType: "application/gzip"],
                body: ByteBuffer(bytes: archive)
            ) { #expect($0.status == .created, "\(String(buffer: $0.body))") }
            try await client.execute(uri: "/v1/functions/weights2", method: .get) {
                let text = String(buffer: $0.body)
                #expect(text.contains(#""max_scale":2"#) && text.contains(#""threshold_ms":300"#), "\(text)")
            }
            try await client.execute(uri: "/v1/functions/weights2/invoke", method: .post, body: ByteBuffer(string: "{}")) {
                #expect(Self.weights(in: $0.body) == Self.weights)
            }
        }
        // Stored as sent.
        let stored = try await runtime.files(of: "weights")
        #expect(stored["model/weights.bin"] == Self.weights)
        await runtime.shutdown()
    }

    @Test func archivesThatLeaveTheFolderOrBreakTheRulesAreRefused() async throws {
        let (app, runtime) = try GaiaServerTests().app(maxBody: 4 << 20)
        /// A .tar.gz with an echo handler, then what `script` adds to `t`.
        @Sendable func archive(_ script: String) throws -> [UInt8] {
            try Self.python("""
                import io, sys, tarfile
                t = tarfile.open(fileobj=sys.stdout.buffer, mode="w:gz")
                h = b"def handle(payload, context):\\n    return payload\\n"
                i = tarfile.TarInfo("handler.py"); i.size = len(h); t.addfile(i, io.BytesIO(h))
                \(script)
                t.close()
                """)
        }
        let cases: [(String, [UInt8], HTTPResponse.Status, String)] = [
            ("dotdot", try archive("i = tarfile.TarInfo('../evil.py'); i.size = 1; t.addfile(i, io.BytesIO(b'x'))"), .badRequest, "must stay inside"),
            ("absolute", try archive("i = tarfile.TarInfo('/etc/cron.d/x'); i.size = 1; t.addfile(i, io.BytesIO(b'x'))"), .badRequest, "must be relative"),
            ("linkout", try archive("i = tarfile.TarInfo('k'); i.type = tarfile.SYMTYPE; i.linkname = '../../etc/shadow'; t.addfile(i)"), .badRequest, "out of the function's folder"),
            ("big", try archive("i = tarfile.TarInfo('b.bin'); i.size = 70 << 20; t.addfile(i, io.BytesIO(bytes(70 << 20)))"), .contentTooLarge, "upload limit"),
        ]
        try await app.test(.router) { client in
            for (name, bytes, status, message) in cases {
                try await client.execute(uri: "/v1/functions?name=\(name)", method: .post, headers: [.contentType: "application/gzip"], body: ByteBuffer(bytes: bytes)) {
                    #expect($0.status == status && String(buffer: $0.body).contains(message), "\(name): \(String(buffer: $0.body))")
                }
            }
            let (body, headers) = Self.multipart(#"{"name": "both", "files": {"handler.py": "x = 1"}}"#, archive: try archive(""))
            try await client.execute(uri: "/v1/functions", method: .post, headers: headers, body: body) {
                #expect($0.status == .badRequest && String(buffer: $0.body).contains("both in the archive and among the text files"))
            }
            try await client.execute(uri: "/v1/functions", method: .post, headers: [.contentType: "application/gzip"], body: ByteBuffer(bytes: try archive(""))) {
                #expect($0.status == .badRequest && String(buffer: $0.body).contains("?name=NAME"))
            }
            try await client.execute(uri: "/v1/functions", method: .post, headers: [.contentType: "text/csv"], body: ByteBuffer(string: "a,b")) {
                #expect($0.status == .badRequest && String(buffer: $0.body).contains("must be JSON"), "anything else is read as JSON")
            }
        }
        // Nothing is left of a refused deploy.
        let functions = runtime.configuration.dataDirectory + "/functions"
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: functions)) ?? []).isEmpty)
        await runtime.shutdown()
    }
}
