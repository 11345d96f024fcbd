import AsyncHTTPClient
import Foundation
import GaiaRuntime
import NIOCore
import NIOHTTP1
import Testing

/// Hostile functions against a real `gaia serve` (issue 15). Run as root: everything one tries
/// beyond its own code and home is denied, its fork bomb stops at the process limit, a child it
/// leaves behind dies with its instance. Anywhere: one that stops reading its input while large
/// requests are on their way stalls nothing but itself. The server stays healthy throughout.
@Suite(.serialized)
struct HostileFunctionTests {
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
                    "open /dev/kmsg (the kernel's log)": lambda: open("/dev/kmsg", "rb"),
                    "open /dev/fuse": lambda: open("/dev/fuse", "rb"),
                    "mount": lambda: os.system("mount -t tmpfs none /tmp 2>/dev/null") == 0 or (_ for _ in ()).throw(PermissionError()),
                }
                report = {name: attempt(f) for name, f in tried.items()}
                report["write its home"] = attempt(lambda: touch(os.environ["HOME"] + "/scratch"))
                report["write its /tmp"] = attempt(lambda: touch("/tmp/gaia-hostile-mark"))
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

    static let victim = "import os\n\ndef handle(payload, context):\n    return {\"pid\": os.getpid(), \"uid\": os.getuid(), \"sees\": os.path.exists(\"/tmp/gaia-hostile-mark\")}\n"

    /// Processes (zombies too) in a cgroup whose path has `part` (`gaia-PID/NAME-`: one server's
    /// instances of one function; uids alone would also match other tests' in-process servers).
    static func processes(inCgroup part: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8))?.contains(part) ?? false
        }
    }

    /// A process's state letter in `/proc/PID/stat` (`T`: stopped), nil when there is none.
    static func state(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
    }

    /// The last lines of a server's log, for a failure's message.
    static func tail(_ log: String, lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? "(no log at \(log))"
        return "the server's log ends:\n" + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
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

    /// Starts `gaia serve` with `config` (YAML) on a fresh port and data folder, its output to a log.
    func serve(_ gaia: String, config: String) throws -> (server: Process, port: Int, data: String, log: String) {
        let port = ServeCommandTests.freePort()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-hostile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try config.write(toFile: data + ".yaml", atomically: true, encoding: .utf8)
        let server = try ServeCommandTests.serve(gaia, port: port, data: data, ["--config", data + ".yaml"], log: data + ".log")
        return (server, port, data, data + ".log")
    }

    func deploy(_ name: String, _ source: String, port: Int, token: String, extra: String = "") async throws {
        let files = String(decoding: try JSONSerialization.data(withJSONObject: ["handler.py": source]), as: UTF8.self)
        let deployed = try await call(.POST, "/v1/functions", port: port, token: token, body: #"{"name": "\#(name)", "files": \#(files)\#(extra)}"#)
        try #require(deployed.status == 201, "deploy \(name): \(deployed.body)")
    }

    /// An instance that stops itself (SIGSTOP: it reads nothing more) while two 2 MiB requests are
    /// written to it: writes to it wait on its own queue, not on an actor, so `/healthz` and another
    /// function answer at once; the requests fail at the invocation timeout, which ends the instance.
    @Test func aFunctionThatStopsReadingStallsOnlyItself() async throws {
        guard let gaia = ServeCommandTests.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests (run `swift build` first)")
        }
        let (server, port, data, log) = try serve(gaia, config: "pool:\n  invocation_timeout_seconds: 3\n")
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try await ServeCommandTests().waitUntilServing("/healthz", port: port, data: data)
        let token = try #require(ServeCommandTests.token(data))
        try await deploy("victim", Self.victim, port: port, token: token)
        // After the SIGSTOP it sleeps: a process-directed stop may take another thread first and
        // let this one run on for a moment, long enough to answer (seen in clean-clone CI runs).
        let staller = "import os, signal, time\n\ndef handle(payload, context):\n    if payload.get(\"stop\"):\n        os.kill(os.getpid(), signal.SIGSTOP)\n        time.sleep(60)\n    if payload.get(\"pid\"):\n        return os.getpid()\n    return len(payload.get(\"pad\", \"\"))\n"
        try await deploy("staller", staller, port: port, token: token, extra: #", "concurrency": 4"#)
        let warm = try await call(.POST, "/v1/functions/staller/invoke", port: port, token: token, body: #"{"pid": true}"#)
        let instance = try #require(Int32(warm.body), "\(warm.status) \(warm.body)")
        let started = ContinuousClock.now
        // First the stop, and only once the instance is seen stopped the two large requests: sent
        // together, either could reach it first, and the concurrent runs made the outcome a race.
        var stalled = [Task { try await call(.POST, "/v1/functions/staller/invoke", port: port, token: token, body: #"{"stop": true}"#).status }]
        while Self.state(of: instance) != "T" && ContinuousClock.now - started < .seconds(2) { try await Task.sleep(for: .milliseconds(10)) }
        try #require(Self.state(of: instance) == "T", "the instance \(instance) did not stop: \(Self.state(of: instance) ?? "gone"); \(Self.tail(log))")
        let pad = String(repeating: "x", count: 2 << 20)
        stalled += (0..<2).map { _ in
            Task { try await call(.POST, "/v1/functions/staller/invoke", port: port, token: token, body: #"{"pad": "\#(pad)"}"#).status }
        }
        try await Task.sleep(for: .milliseconds(300))  // the large requests are being written to the stopped instance
        for _ in 0..<4 {
            for path in ["/healthz", "/v1/functions/victim/invoke"] {
                let asked = ContinuousClock.now
                let status = try await call(path == "/healthz" ? .GET : .POST, path, port: port, token: token, body: path == "/healthz" ? nil : "{}").status
                let took = ContinuousClock.now - asked
                #expect(status == 200 && took < .seconds(1), "\(path) while an instance stalls: \(status) in \(took)")
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        var statuses: [Int] = []
        for task in stalled { statuses.append(try await task.value) }
        let ended = ContinuousClock.now - started
        // The large requests, written to an instance seen stopped, fail at the invocation timeout.
        #expect(statuses.dropFirst().allSatisfy { $0 >= 500 }, "the stalled requests failed: \(statuses); \(Self.tail(log))")
        // The stop request fails with them, unless its thread answered before the stop took it
        // (two clean-clone CI runs answered it 200, before the sleep above, while the large requests
        // behind it failed at the timeout; not reproduced here in 20 runs). Reported, not judged.
        if statuses[0] < 500 {
            print("note: the stop request answered \(statuses[0]): its instance was continued before the timeout (state now: \(Self.state(of: instance) ?? "gone"))")
        }
        #expect(ended < .seconds(8), "they failed at the 3 s invocation timeout, not later: \(ended)")
        let after = try await call(.POST, "/v1/functions/staller/invoke", port: port, token: token, body: #"{"pad": "ok"}"#)
        #expect(after.status == 200 && after.body == "2", "a new instance serves the function: \(after.status) \(after.body)")
    }

    @Test func aHostileFunctionIsConfinedAndLeavesNothingBehind() async throws {
        guard geteuid() == 0 else {
            try Test.cancel("instances are sandboxed only when gaia serve runs as root; these tests do not")
        }
        guard let gaia = ServeCommandTests.gaia else {
            try Test.cancel("the gaia binary is not built beside the tests (run `swift build` first)")
        }
        let (server, port, data, log) = try serve(gaia, config: "max_processes: 64\n")
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let serverLog = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        try await ServeCommandTests().waitUntilServing("/healthz", port: port, data: data)
        guard serverLog().contains("sandbox=own uid") else {
            try Test.cancel("gaia serve does not sandbox here: \(serverLog().split(separator: "\n").last ?? "")")
        }
        let token = try #require(ServeCommandTests.token(data))
        /// `/healthz` answers, within a second, after every step.
        func healthy(_ step: String) async throws {
            let started = ContinuousClock.now
            let status = try await call(.GET, "/healthz", port: port, token: nil).status
            let took = ContinuousClock.now - started
            #expect(status == 200 && took < .seconds(1), "/healthz after \(step): \(status) in \(took)")
        }
        try await deploy("victim", Self.victim, port: port, token: token)
        try await deploy("hostile", Self.hostile, port: port, token: token)
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
        #expect(report.count == 16)
        for (attempt, outcome) in report where !attempt.hasPrefix("write its ") {
            #expect(outcome.hasPrefix("denied"), "\(attempt): \(outcome)")
        }
        #expect(report["write its home"] == "allowed" && report["write its /tmp"] == "allowed")
        #expect(report["call the API without a token"] == "denied: PermissionError")
        #expect(answer["data"] as? [String] == ["functions", "home"], "the data folder shows only its code and home: \(answer["data"] ?? "")")
        let descriptors = try #require(answer["fds"] as? [String: String])
        print("its descriptors: \(descriptors)")
        #expect(!descriptors.values.contains { $0.hasPrefix("socket:") || $0.hasPrefix(data) && !$0.hasSuffix(".log") },
                "it holds no socket and nothing of the data folder but its log: \(descriptors)")
        let again = json(try await call(.POST, "/v1/functions/victim/invoke", port: port, token: token, body: "{}").body)
        #expect(again["pid"] as? Int == victimPID, "the victim's instance survived the attempt to kill it")
        #expect(again["sees"] as? Bool == false && !FileManager.default.fileExists(atPath: "/tmp/gaia-hostile-mark"),
                "what it wrote to /tmp stays in its own /tmp")
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
