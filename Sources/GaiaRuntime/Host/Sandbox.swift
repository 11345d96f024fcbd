import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How instances are confined (docs/SECURITY.md, *What a function can reach*).
///
/// When Gaia runs as root, each function's instances run as a uid and gid of their own, in a mount
/// namespace of their own where the data directory holds only the function's code (read-only) and
/// its home (writable), with no_new_privs, each instance in cgroups that bound its processes,
/// memory and CPU time and through which everything it started is killed when it ends. The shim
/// does the confining itself (`enter_sandbox` in gaia_worker.py) before any of the function's code
/// runs, the same way in a fresh process and in a child of the fork server. Not as root, instances
/// run as the server's user with no_new_privs only.
public struct SandboxSettings: Sendable {
    /// Confine instances (the default); takes effect only when Gaia runs as root.
    public var enabled = true
    /// Most processes and threads one instance may hold at once (its pids cgroup).
    public var maxProcesses = 256
    /// The uid (and gid) the first function gets; each new function name gets the next one, kept
    /// for that name for good. `firstUID - 1` is the uid GPU instances share while MPS runs.
    public var firstUID: UInt32 = 200_000

    /// The defaults.
    public init() {}

    /// Whether instances are confined here: enabled, and nothing stops it (`unavailable`).
    public var active: Bool { enabled && Self.unavailable(firstUID: firstUID) == nil }

    /// Why this process cannot confine instances, or nil when it can: it must be root with the
    /// capabilities to make mount namespaces and change uid (a container's root may lack
    /// CAP_SYS_ADMIN), and the uids from `firstUID` must exist in its user namespace.
    public static func unavailable(firstUID: UInt32) -> String? {
        guard geteuid() == 0 else { return "not root" }
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let effective = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return "its capabilities cannot be read" }
        let needed: [(bit: UInt64, name: String)] = [(21, "CAP_SYS_ADMIN"), (7, "CAP_SETUID"), (6, "CAP_SETGID"), (0, "CAP_CHOWN")]
        let missing = needed.filter { effective & (1 << $0.bit) == 0 }.map(\.name)
        guard missing.isEmpty else { return "root without \(missing.joined(separator: ", "))" }
        // "inside outside count" lines: the uids this namespace has.
        let map = (try? String(contentsOfFile: "/proc/self/uid_map", encoding: .utf8)) ?? "0 0 4294967295"
        let mapped = map.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).compactMap { UInt64($0) }
            return fields.count == 3 && fields[0] <= UInt64(firstUID) - 1 && UInt64(firstUID) + 65_536 <= fields[0] + fields[2]
        }
        return mapped ? nil : "uids \(firstUID - 1)… are not mapped in this user namespace"
    }
}

/// One function's confinement, the same for each of its instances.
public struct FunctionSandbox: Sendable {
    /// The function's own uid and gid.
    public var uid: UInt32
    public var gid: UInt32
    /// The uid GPU instances run as instead, with the function's gid, while an MPS daemon runs (an
    /// MPS server serves the clients of one uid at a time; their files stay apart by namespace).
    public var gpuUID: UInt32?
    /// Folders the instance must not see (the data directory): an empty tmpfs in its namespace.
    public var hidden: [String]
    /// Its writable home (`HOME`; `TMPDIR` is its `tmp`), kept across instances and revisions.
    public var home: String
    /// Most processes and threads per instance.
    public var maxProcesses: Int
    /// Where instance cgroups are made (nil: none could be).
    public var cgroups: Cgroups?

    /// A confinement; `gid` is `uid`'s number.
    public init(uid: UInt32, gpuUID: UInt32? = nil, hidden: [String], home: String, maxProcesses: Int = 256, cgroups: Cgroups?) {
        self.uid = uid
        self.gid = uid
        self.gpuUID = gpuUID
        self.hidden = hidden
        self.home = home
        self.maxProcesses = maxProcesses
        self.cgroups = cgroups
    }

    /// Makes the function's home, owned by its uid and gid (setgid, group-writable: GPU instances
    /// under MPS write it with the function's gid and a shared uid).
    public static func makeHome(_ path: String, uid: UInt32, gid: UInt32) throws {
        for folder in [path, path + "/tmp"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            guard chown(folder, uid, gid) == 0, chmod(folder, 0o2770) == 0 else {
                throw WorkerError.launchFailed("cannot give \(folder) to uid \(uid): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// What an instance's shim is told (`GAIA_SANDBOX`, `HOME`, `TMPDIR`); `cwd` is its code, entered
    /// again through the namespace. `uid` differs from the function's for GPU instances under MPS.
    /// `privateTemporary`: the instance gets a `/tmp` and `/dev/shm` of its own (CPU rungs; GPU
    /// instances keep the host's, where MPS has its pipes and shared memory).
    func environment(cwd: String, uid: UInt32, privateTemporary: Bool, cgroup: InstanceCgroup?) -> [String: String] {
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
        let home = absolute(home)
        var spec: [String: JSONValue] = [
            "uid": .number(Double(uid)), "gid": .number(Double(gid)), "cwd": .string(absolute(cwd)),
            "hide": .array(hidden.map { .string(absolute($0)) }), "writable": .array([.string(home)]),
        ]
        if privateTemporary { spec["private"] = .array(["/tmp", "/dev/shm"].filter { FileManager.default.fileExists(atPath: $0) }.map { .string($0) }) }
        if let cgroup { spec["cgroups"] = .array(cgroup.joinFiles.map { .string($0) }) }
        let text = (try? JSONEncoder().encode(JSONValue.object(spec))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return ["GAIA_SANDBOX": text, "HOME": home, "TMPDIR": home + "/tmp"]
    }
}

/// Where instance cgroups are made: a folder `gaia-PID` (this server's pid) under the server's own
/// cgroup. With cgroup v1, one per hierarchy: `pids` (required: it is how everything an instance
/// started is found and killed), and `memory`, `cpu` and `devices` where those can be written.
/// With cgroup v2 only (no v1 `pids` hierarchy), one folder in the unified hierarchy with `pids`,
/// `memory` and `cpu` enabled where the server may delegate them (v2 has no `devices` files: device
/// nodes are then bounded by their modes only).
public struct Cgroups: Sendable {
    /// The folder per controller (v1), or the one folder under every controller's key (v2).
    var folders: [String: String]
    /// Whether it is the unified hierarchy (v2).
    var unified = false

    /// Where this process may make cgroups, or why it may not. Folders left by servers that are
    /// gone are cleared first. `unifiedMount`: where v2 is mounted, when v1's `pids` is not.
    public static func discover(root: String = "/sys/fs/cgroup", unifiedMount: String? = nil) -> Result<Cgroups, WorkerError> {
        guard let own = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else {
            return .failure(.launchFailed("/proc/self/cgroup is not readable"))
        }
        // "4:memory:/path" (v1) or "0::/path" (v2): the server's cgroup per hierarchy.
        let lines = own.split(separator: "\n").map { $0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init) }
        func ownPath(_ controllers: String) -> String {
            lines.first { $0.count == 3 && ($0[1] == controllers || $0[1].split(separator: ",").contains(Substring(controllers))) }?[2] ?? "/"
        }
        // The server's cgroup under the mount when it shows there (no cgroup namespace), else the mount.
        func base(under mount: String, path: String) -> String {
            FileManager.default.fileExists(atPath: mount + path) ? mount + path : mount
        }
        /// This server's `gaia-PID` folder in `base`, after clearing those of servers gone.
        func folder(in base: String) -> String? {
            clearStale(in: base)
            let made = (base.hasSuffix("/") ? base : base + "/") + "gaia-\(getpid())"
            guard mkdir(made, 0o755) == 0 || errno == EEXIST else { return nil }
            return made
        }
        if unifiedMount == nil && FileManager.default.fileExists(atPath: root + "/pids/cgroup.procs") {
            var folders: [String: String] = [:]
            for controller in ["pids", "memory", "cpu", "devices"] {
                let mount = "\(root)/\(controller)"
                guard FileManager.default.fileExists(atPath: mount + "/cgroup.procs"),
                    let made = folder(in: base(under: mount, path: ownPath(controller)))
                else { continue }
                folders[controller] = made
            }
            guard folders["pids"] != nil else { return .failure(.launchFailed("the pids cgroup hierarchy under \(root) is read-only")) }
            return .success(Cgroups(folders: folders))
        }
        let mount = unifiedMount ?? root
        guard FileManager.default.fileExists(atPath: mount + "/cgroup.controllers") else {
            return .failure(.launchFailed("no cgroup v1 pids hierarchy nor cgroup v2 under \(root)"))
        }
        let serverCgroup = base(under: mount, path: ownPath(""))
        let enabled = delegate(in: serverCgroup)
        guard let made = folder(in: serverCgroup) else {
            return .failure(.launchFailed("cannot make a cgroup under \(serverCgroup): \(String(cString: strerror(errno)))"))
        }
        for controller in enabled { _ = write("+" + controller, to: made + "/cgroup.subtree_control") }
        var folders = ["cgroup": made]
        for controller in enabled { folders[controller] = made }
        return .success(Cgroups(folders: folders, unified: true))
    }

    /// Enables `pids`, `memory` and `cpu` for the children of `base` (v2) where it offers them: the
    /// server first moves itself into a leaf of its own when `base` holds it (v2 gives controllers
    /// only to cgroups without processes of their own). Returns the controllers enabled.
    private static func delegate(in base: String) -> [String] {
        let offered = ((try? String(contentsOfFile: base + "/cgroup.controllers", encoding: .utf8)) ?? "").split(separator: " ").map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let wanted = ["pids", "memory", "cpu"].filter(offered.contains)
        func enable() -> Bool { wanted.allSatisfy { write("+" + $0, to: base + "/cgroup.subtree_control") } }
        if wanted.isEmpty || enable() { return wanted }
        let leaf = base + "/gaia-server-\(getpid())"
        guard mkdir(leaf, 0o755) == 0 || errno == EEXIST, write(String(getpid()), to: leaf + "/cgroup.procs"), enable() else { return [] }
        return wanted
    }

    /// Writes `value` to a cgroup file; false when it could not.
    @discardableResult
    static func write(_ value: String, to file: String) -> Bool {
        let fd = open(file, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return value.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
    }

    /// Removes the `gaia-PID` folders of servers no longer running, killing what is left in them.
    private static func clearStale(in base: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for name in names where name.hasPrefix("gaia-") && !name.hasPrefix("gaia-server-") {
            guard let pid = Int32(name.dropFirst(5)), pid != getpid(), !Zygote.processExists(pid) else { continue }
            let folder = base + "/" + name
            for instance in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
                let path = folder + "/" + instance
                guard FileManager.default.fileExists(atPath: path + "/cgroup.procs") else { continue }
                InstanceCgroup.killMembers(of: path)
                rmdir(path)
            }
            rmdir(folder)
        }
    }

    /// Removes this server's folders (its instances' cgroups are gone by then).
    public func remove() {
        for folder in Set(folders.values) { rmdir(folder) }
    }

    /// Device nodes every instance may open: null, zero, full, random, urandom, tty, ptmx, pts.
    static let commonDevices = ["c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm"]

    /// NVIDIA's device nodes, which GPU instances may also open: every `/dev/nvidiaN` and
    /// `nvidiactl` (major 195), and the majors `/proc/devices` gives `nvidia-uvm` and `nvidia-caps`.
    static func gpuDevices(_ devices: String? = try? String(contentsOfFile: "/proc/devices", encoding: .utf8)) -> [String] {
        let majors = (devices ?? "").split(separator: "\n").compactMap { line -> Int? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 2, ["nvidia-uvm", "nvidia-caps", "nvidia-frontend", "nvidia"].contains(fields[1]) else { return nil }
            return Int(fields[0])
        }
        return Set([195] + majors).sorted().map { "c \($0):* rwm" }
    }

    /// A cgroup for one instance, with its limits.
    func makeInstance(named name: String, maxProcesses: Int, memoryLimitMB: Int, cores: Int, gpu: Bool) throws -> InstanceCgroup {
        var made: [String: String] = [:]
        do {
            for (controller, folder) in folders {
                let path = "\(folder)/\(name)"
                if !made.values.contains(path) {
                    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                }
                made[controller] = path
            }
            let cgroup = InstanceCgroup(paths: made, unified: unified)
            try cgroup.write("pids", "pids.max", String(maxProcesses))
            if memoryLimitMB > 0 {
                try cgroup.write("memory", unified ? "memory.max" : "memory.limit_in_bytes", String(memoryLimitMB * 1024 * 1024))
            }
            try cgroup.setCPU(cores: cores)
            if !unified {
                try cgroup.write("devices", "devices.deny", "a")
                for rule in Self.commonDevices + (gpu ? Self.gpuDevices() : []) { try cgroup.write("devices", "devices.allow", rule) }
            }
            return cgroup
        } catch {
            for path in Set(made.values) { rmdir(path) }
            throw WorkerError.launchFailed("could not make the instance's cgroup \(name): \(error)")
        }
    }
}

/// One instance's cgroups: the shim joins them (`cgroup.procs`) before the function runs; when the
/// instance ends, whatever it left running is killed and the cgroups removed.
final class InstanceCgroup: Sendable {
    /// Its folder per controller (v2: the same folder under each).
    let paths: [String: String]
    let unified: Bool

    init(paths: [String: String], unified: Bool = false) {
        self.paths = paths
        self.unified = unified
    }

    /// The files the shim joins through, writing "0" (itself): v1's `tasks`, which moves the
    /// writing thread without taking the kernel's global lock on thread groups (its one thread is
    /// the whole process then; `cgroup.procs` cost about 11 ms a start here, waiting for an RCU
    /// grace period), or v2's `cgroup.procs`.
    var joinFiles: [String] { Set(paths.values).sorted().map { $0 + (unified ? "/cgroup.procs" : "/tasks") } }

    /// Where its processes are listed.
    private var anyFolder: String? { paths["pids"] ?? paths["cgroup"] }

    /// CPU time per period for `cores` cores (CFS quota); 0 or less lifts it.
    func setCPU(cores: Int) throws {
        guard paths["cpu"] != nil else { return }
        let period = 100_000
        if unified {
            try write("cpu", "cpu.max", "\(cores > 0 ? String(cores * period) : "max") \(period)")
        } else {
            try write("cpu", "cpu.cfs_period_us", String(period))
            try write("cpu", "cpu.cfs_quota_us", cores > 0 ? String(cores * period) : "-1")
        }
    }

    func write(_ controller: String, _ file: String, _ value: String) throws {
        guard let folder = paths[controller] else { return }
        guard Cgroups.write(value, to: "\(folder)/\(file)") else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    static func members(of folder: String) -> [Int32] {
        guard let text = try? String(contentsOfFile: folder + "/cgroup.procs", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// SIGKILLs every member once (v2: all at once through `cgroup.kill`); returns how many there were.
    @discardableResult
    static func killMembers(of folder: String) -> Int {
        let pids = members(of: folder)
        if !pids.isEmpty && !Cgroups.write("1", to: folder + "/cgroup.kill") {
            for pid in pids { kill(pid, SIGKILL) }
        }
        return pids.count
    }

    /// Kills everything in it (again while processes keep appearing: a killed process forks no
    /// more, and the pids limit bounds how many there can be), then removes it. Waits without
    /// blocking a thread; gives up on the removal after about 5 s (left to the next start's sweep).
    func release() async {
        guard let folder = anyFolder else { return }
        let folders = Set(paths.values)
        for _ in 0..<500 {
            if Self.killMembers(of: folder) == 0 && folders.allSatisfy({ rmdir($0) == 0 || errno == ENOENT }) { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
