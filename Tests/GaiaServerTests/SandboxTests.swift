import AsyncHTTPClient
import Foundation
import GaiaRuntime
import NIOCore
import NIOHTTP1
import Testing

/// A hostile function against a real `gaia serve` running as root (issue 15): everything it tries
/// beyond its own code and home is denied, its fork bomb stops at the process limit, a child it
/// leaves behind dies with its instance, and the server stays healthy throughout.
@Suite(.serialized)
struct SandboxTests {
    /// What the hostile function tries, each reported as "allowed" or the error that denied it.
    static let hostile = #"""
        import json, os, signal, sys, time, urllib.error, urllib.request

        def attempt(f):
            try:
                f()
                return "allowed"
            except Exception as error:  # noqa: BLE001
                return f"denied: {type(error).__name__}"

        def touch(path):
            with open(path, "a") as f:
                f.write("#")

        def api(port):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/functions", timeout=5).read()
            except urllib.error.HTTPError as error:
                raise PermissionError(f"HTTP {error.code}") from None

        def handle(payload, context):
            action = payload["action"]
            if action == "probe":
                data, server, victim = payload["data"], payload["server"], payload["victim"]
                tried = {
                    "read /etc/shadow": lambda: open("/etc/shadow").read(),
                    "read the store": lambda: open(data + "/gaia.sqlite", "rb").read(),
                    "read the admin token": lambda: open(data + "/admin.token").read(),
                    "read another function's code": lambda: open(data + "/functions/victim/r1/handler.py").read(),
                    "write another function's code": lambda: touch(data + "/functions/victim/r1/handler.py"),
                    "write its own code": lambda: touch("handler.py"),
                    "read the server's environment": lambda: open(f"/proc/{server}/environ", "rb").read(),
                    "read the server's memory": lambda: open(f"/proc/{server}/mem", "rb").read(1),
                    "signal another function's instance": lambda: os.kill(victim, signal.SIGKILL),
                    "become root": lambda: os.setuid(0),
                    "call the API without a token": lambda: api(payload["port"]),
                    "mount": lambda: os.system("mount -t tmpfs none /tmp 2>/dev/null") == 0 or (_ for _ in ()).throw(PermissionError()),
                }
                report = {name: attempt(f) for name, f in tried.items()}
                report["write its home"] = attempt(lambda: touch(os.environ["HOME"] + "/scratch"))
                return {"uid": os.getuid(), "report": report, "data": sorted(os.listdir(data)), "fds": {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}")}}
            if action == "bomb":
                made = 0
                try:
                    while made < 1000:
                        if os.fork() == 0:
                            time.sleep(120)
                            os._exit(0)
                        made += 1
                except OSError:
                    pass
                return {"forked": made}
            if action == "orphan":
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        time.sleep(300)
                    os._exit(0)
                return {"ok": True}
        """#

    static let victim = "import os\n\ndef handle(payload, context):\n    return {\"pid\": os.getpid(), \"uid\": os.getuid()}\n"

    /// Processes (zombies too) in a cgroup whose path has `part` (`gaia-PID/NAME-`: one server's
    /// instances of one function; uids alone would also match other tests' in-process servers).
    static func processes(inCgroup part: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8))?.contains(part) ?? false
        }
    }

    /// Whether a process (zombie too) with this pid exists.
    static func exists(_ pid: Int32) -> Bool { FileManager.default.fileExists(atPath: "/proc/\(pid)") }

    func call(_ method: HTTPMethod, _ path: String, port: Int, token: String?, body: String? = nil) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func aHostileFunctionIsConfinedAndLeavesNothingBehind() async throws {
        guard geteuid() == 0 else {
            print("SKIPPED: instances are sandboxed only when gaia serve runs as root; these tests do not")
            return
        }
        guard let gaia = ServeCommandTests.gaia else {
            print("SKIPPED: the gaia binary is not built beside the tests (run `swift build` first)")
            return
        }
        let port = ServeCommandTests.freePort()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-sandbox-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "max_processes: 64\n".write(toFile: data + ".yaml", atomically: true, encoding: .utf8)
        let log = data + ".log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: gaia)
        server.arguments = ["serve", "--port", String(port), "--data-dir", data, "--config", data + ".yaml"]
        server.standardOutput = FileHandle(forWritingAtPath: log)
        server.standardError = FileHandle(forWritingAtPath: log)
        try server.run()
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let serverLog = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        try await ServeCommandTests().waitUntilServing("/healthz", port: port, data: data)
        guard serverLog().contains("sandbox=own uid") else {
            print("SKIPPED: gaia serve does not sandbox here: \(serverLog().split(separator: "\n").last ?? "")")
            return
        }
        let token = try #require(ServeCommandTests.token(data))
        /// `/healthz` answers, within a second, after every step.
        func healthy(_ step: String) async throws {
            let started = ContinuousClock.now
            let status = try await call(.GET, "/healthz", port: port, token: nil).status
            let took = ContinuousClock.now - started
            #expect(status == 200 && took < .seconds(1), "/healthz after \(step): \(status) in \(took)")
        }
        for (name, source) in [("victim", Self.victim), ("hostile", Self.hostile)] {
            let files = String(decoding: try JSONSerialization.data(withJSONObject: ["handler.py": source]), as: UTF8.self)
            let deployed = try await call(.POST, "/v1/functions", port: port, token: token, body: #"{"name": "\#(name)", "files": \#(files)}"#)
            try #require(deployed.status == 201, "deploy \(name): \(deployed.body)")
        }
        let victim = json(try await call(.POST, "/v1/functions/victim/invoke", port: port, token: token, body: "{}").body)
        let victimPID = try #require(victim["pid"] as? Int)
        let victimUID = try #require(victim["uid"] as? Int)

        let probe = try await call(
            .POST, "/v1/functions/hostile/invoke", port: port, token: token,
            body: #"{"action": "probe", "data": "\#(data)", "server": \#(server.processIdentifier), "victim": \#(victimPID), "port": \#(port)}"#)
        try #require(probe.status == 200, "\(probe.body)")
        let answer = json(probe.body)
        let uid = try #require(answer["uid"] as? Int)
        #expect(uid >= 200_000 && uid != victimUID, "each function runs as a uid of its own: \(uid), \(victimUID)")
        let report = try #require(answer["report"] as? [String: String])
        print("hostile function's report: \(report)")
        #expect(report.count == 13)
        for (attempt, outcome) in report where attempt != "write its home" {
            #expect(outcome.hasPrefix("denied"), "\(attempt): \(outcome)")
        }
        #expect(report["write its home"] == "allowed")
        #expect(report["call the API without a token"] == "denied: PermissionError")
        #expect(answer["data"] as? [String] == ["functions", "home"], "the data folder shows only its code and home: \(answer["data"] ?? "")")
        let descriptors = try #require(answer["fds"] as? [String: String])
        print("its descriptors: \(descriptors)")
        #expect(!descriptors.values.contains { $0.hasPrefix("socket:") || $0.hasPrefix(data) && !$0.hasSuffix(".log") },
                "it holds no socket and nothing of the data folder but its log: \(descriptors)")
        let again = json(try await call(.POST, "/v1/functions/victim/invoke", port: port, token: token, body: "{}").body)
        #expect(again["pid"] as? Int == victimPID, "the victim's instance survived the attempt to kill it")
        try await healthy("the probe")

        let orphan = try await call(.POST, "/v1/functions/hostile/invoke", port: port, token: token, body: #"{"action": "orphan"}"#)
        #expect(orphan.status == 200, "\(orphan.body)")
        let bomb = json(try await call(.POST, "/v1/functions/hostile/invoke", port: port, token: token, body: #"{"action": "bomb"}"#).body)
        let forked = try #require(bomb["forked"] as? Int)
        #expect(forked > 0 && forked < 64, "the fork bomb stops at max_processes (64): \(forked)")
        try await healthy("the fork bomb")
        let left = Self.processes(inCgroup: "/gaia-\(server.processIdentifier)/hostile-")
        #expect(left.count > forked, "the bomb's children and the orphan are still running: \(left.count)")

        // Deleting the function ends its instance: everything it started goes with it.
        let deleted = try await call(.DELETE, "/v1/functions/hostile", port: port, token: token)
        #expect(deleted.status == 200 || deleted.status == 204, "\(deleted.body)")
        let ended = ContinuousClock.now
        while left.contains(where: Self.exists) && ContinuousClock.now - ended < .seconds(5) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!left.contains(where: Self.exists), "processes left 5 s after their instance ended: \(left.filter(Self.exists))")
        try await healthy("the delete")

        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(!Self.exists(Int32(victimPID)), "the victim's instance ended with the server, and was reaped")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup/pids")) ?? []
        #expect(!leftovers.contains("gaia-\(server.processIdentifier)"), "the server removed its cgroups")
    }
}
