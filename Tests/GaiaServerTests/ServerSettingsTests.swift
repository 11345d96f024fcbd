import Foundation
import GaiaCore
import GaiaRuntime
import GaiaServer
import Testing

struct ServerSettingsTests {
    @Test func theExampleFileParsesToTheDefaults() throws {
        let text = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/GaiaServerTests/ServerSettingsTests.swift", with: "gaia.example.yaml"), encoding: .utf8)
        var fromFile = ServerSettings()
        try fromFile.apply(yaml: text, source: "gaia.example.yaml")
        let defaults = ServerSettings()
        #expect(fromFile.port == defaults.port && fromFile.host == defaults.host)
        #expect(fromFile.auth && defaults.auth, "tokens are on unless turned off")
        #expect(fromFile.runtime.pool.maxScale == defaults.runtime.pool.maxScale)
        #expect(fromFile.runtime.autoscaler == defaults.runtime.autoscaler)
        #expect(fromFile.runtime.prices == defaults.runtime.prices)
        #expect(fromFile.runtime.memoryLimitMB == defaults.runtime.memoryLimitMB)
        #expect(fromFile.runtime.controller == defaults.runtime.controller)
        #expect(fromFile.runtime.sandbox.enabled && defaults.runtime.sandbox.enabled, "instances are sandboxed unless turned off")
        #expect(fromFile.runtime.sandbox.maxProcesses == defaults.runtime.sandbox.maxProcesses)
        var off = ServerSettings()
        try off.apply(yaml: "sandbox: false\nmax_processes: 64\n", source: "t.yaml")
        #expect(!off.runtime.sandbox.enabled && !off.runtime.sandbox.active && off.runtime.sandbox.maxProcesses == 64)
        #expect(throws: ConfigurationError.self) { try off.apply(yaml: "max_processes: 3\n", source: "t.yaml") }
    }

    @Test func fileThenEnvironmentOverride() throws {
        var settings = ServerSettings()
        try settings.apply(yaml: "port: 9000\npool:\n  max_scale: 3\nautoscaler:\n  keep_alive_seconds: 5\n", source: "t.yaml")
        #expect(settings.port == 9000 && settings.runtime.pool.maxScale == 3 && settings.runtime.keepAlive.fallback == .seconds(5))
        try settings.apply(yaml: "auth: false\nmax_response_mb: 8\nshutdown_grace_seconds: 5\nidle_timeout_seconds: 7\nmax_connections: 64\n", source: "t.yaml")
        #expect(!settings.auth && settings.runtime.maxResponseBytes == 8 << 20 && settings.shutdownGraceSeconds == 5)
        #expect(settings.idleTimeoutSeconds == 7 && settings.maxConnections == 64)
        try settings.apply(environment: ["GAIA_PORT": "9100", "GAIA_DATA_DIR": "/srv/gaia"])
        #expect(settings.port == 9100 && settings.dataDirectory == "/srv/gaia")
    }

    @Test func mistakesAreNamed() {
        var settings = ServerSettings()
        #expect(throws: ConfigurationError.self) { try settings.apply(yaml: "prot: 80\n", source: "t.yaml") }
        do {
            try settings.apply(yaml: "prot: 80\n", source: "t.yaml")
        } catch {
            #expect("\(error)".contains("unknown setting 'prot'"))
        }
        #expect(throws: ConfigurationError.self) { try settings.apply(yaml: "port: eighty\n", source: "t.yaml") }
        #expect(throws: ConfigurationError.self) { try settings.apply(environment: ["GAIA_PORT": "99999"]) }
        #expect(throws: ConfigurationError.self) { try settings.apply(yaml: "controller:\n  drift_factor: 0.5\n", source: "t.yaml") }
        // Sizes in MiB are bounded before they are multiplied (a huge one would overflow).
        #expect(throws: ConfigurationError.self) { try settings.apply(yaml: "max_upload_mb: 1000000000000000\n", source: "t.yaml") }
        #expect(throws: ConfigurationError.self) { try settings.apply(yaml: "max_response_mb: 0\n", source: "t.yaml") }
        #expect(throws: ConfigurationError.self) { try settings.apply(yaml: "max_response_mb: 257\n", source: "t.yaml") }
        #expect(throws: ConfigurationError.self) { try settings.apply(yaml: "shutdown_grace_seconds: -1\n", source: "t.yaml") }
        #expect(throws: ConfigurationError.self) { try settings.apply(yaml: "shutdown_grace_seconds: .inf\n", source: "t.yaml") }
        #expect(throws: ConfigurationError.self) { try settings.apply(yaml: "idle_timeout_seconds: 0\n", source: "t.yaml") }
        #expect(throws: ConfigurationError.self) { try settings.apply(yaml: "max_connections: 0\n", source: "t.yaml") }
    }
}
