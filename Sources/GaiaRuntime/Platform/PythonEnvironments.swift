import Crypto
import Foundation
public import GaiaAnalyzer
import Synchronization

/// A virtual environment a function's instances run in: its `requirements.txt` installed over the
/// server's interpreter.
public struct PythonEnvironment: Sendable, Equatable {
    /// The hash of the normalised requirements and the interpreter that names it.
    public let key: String
    /// Its folder.
    public let directory: String
    /// The interpreter instances start with (and its fork server runs).
    public var python: String { directory + "/bin/python" }
}

/// Builds, shares and removes the virtual environments of functions that bring a
/// `requirements.txt` (under `DATA/envs/KEY`).
///
/// **Layering.** An environment is made with `--system-site-packages` over the server's own
/// interpreter, and pip installs into it only what that interpreter does not already satisfy: a
/// function asking for `numpy` or `torch` at a version the server has gets the server's files (one
/// copy on disk, nothing downloaded), one asking for another version gets its own copy, which
/// shadows the shared one for that function only. Each environment has its own fork server
/// (`Zygote`), started with the environment's interpreter and preloading the same frameworks, so
/// its instances share their imports by copy-on-write among themselves; instances of different
/// environments share files, not memory.
///
/// **Keys and reuse.** An environment is keyed by a hash of the normalised requirements (canonical
/// project names, sorted lines) and of the interpreter (version, platform, prefix): a second
/// function with the same requirements reuses it without running pip; deploys building the same
/// key at once wait for one build. An environment is complete once its marker file is written; a
/// folder without one (a build cut by a crash) is built again.
///
/// **Bounds.** pip runs with no input, its output streamed line by line to the deploying client;
/// past `timeout` its process group is killed and the deploy refused. A failed build leaves nothing.
/// `collect(keeping:)` removes environments no serving revision uses (moved aside at once, deleted
/// in the background).
public actor PythonEnvironments {
    /// The marker of a complete environment, with what it was built from.
    static let marker = "gaia-environment.json"

    public nonisolated let root: String
    private let basePython: String
    private let timeout: Duration
    private var identity: String?
    private var builds: [String: Task<PythonEnvironment, any Error>] = [:]
    /// Environments handed to deploys still in progress, with how many hold each.
    private var leases: [String: Int] = [:]

    /// Environments under `root`, over `python`; an install may take `timeout`.
    public init(root: String, python: String, timeout: Duration) {
        self.root = root
        self.basePython = python
        self.timeout = timeout
    }

    /// The environment of a key (complete or not).
    public nonisolated func environment(_ key: String) -> PythonEnvironment {
        PythonEnvironment(key: key, directory: "\(root)/\(key)")
    }

    /// Whether an environment is complete.
    public nonisolated func isReady(_ key: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(environment(key).directory)/\(Self.marker)")
    }

    /// The environment for `requirements`: an existing one, one another deploy is building, or a
    /// new one built now. `progress` hears what happens, pip's output included. The environment is
    /// held (never collected) until `release` is called with its key.
    public func prepare(_ requirements: Requirements, progress: @escaping @Sendable (String) -> Void) async throws -> PythonEnvironment {
        let identity = try await interpreterIdentity()
        let key = Self.key(requirements, identity: identity)
        leases[key, default: 0] += 1
        do {
            if isReady(key) {
                progress("requirements: reusing environment \(key) (built before for the same requirements)")
                return environment(key)
            }
            if let build = builds[key] {
                progress("requirements: another deploy is building environment \(key); waiting for it")
                return try await build.value
            }
            let environment = environment(key)
            let python = basePython
            let timeout = timeout
            let build = Task { try await Self.build(environment, requirements, identity: identity, python: python, timeout: timeout, progress: progress) }
            builds[key] = build
            defer { builds[key] = nil }
            return try await build.value
        } catch {
            release(key)
            throw error
        }
    }

    /// Lets go of an environment `prepare` handed out.
    public func release(_ key: String) {
        leases[key, default: 0] -= 1
        if leases[key, default: 0] <= 0 { leases[key] = nil }
    }

    /// The key of an environment: 16 hex digits of SHA-256 over the interpreter and the requirements.
    static func key(_ requirements: Requirements, identity: String) -> String {
        let digest = SHA256.hash(data: Data((identity + "\n" + requirements.normalised).utf8))
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The interpreter's version, platform and prefix (asked once).
    private func interpreterIdentity() async throws -> String {
        if let identity { return identity }
        let lines = LineCollector()
        let status = try await ChildProcess.run(
            basePython, ["-c", "import sys, sysconfig; print(sys.version.split()[0], sysconfig.get_platform(), sys.prefix)"],
            environment: InheritedEnvironment.of(ProcessInfo.processInfo.environment), timeout: .seconds(30)) { lines.append($0) }
        guard status == 0, let line = lines.all.last else {
            throw PlatformError("requirements_failed", "cannot ask \(basePython) its version: \(lines.all.joined(separator: "\n"))", status: 500)
        }
        identity = line
        return line
    }

    private static func build(
        _ environment: PythonEnvironment, _ requirements: Requirements, identity: String, python: String, timeout: Duration,
        progress: @escaping @Sendable (String) -> Void
    ) async throws -> PythonEnvironment {
        let fm = FileManager.default
        let directory = environment.directory
        try? fm.removeItem(atPath: directory)  // an earlier build cut short
        try fm.createDirectory(atPath: (directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let started = ContinuousClock.now
        var base = InheritedEnvironment.of(ProcessInfo.processInfo.environment, pip: true)
        for name in base.keys where name.hasPrefix("PYTHON") { base[name] = nil }
        base["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        base["PIP_NO_INPUT"] = "1"
        base["PYTHONUNBUFFERED"] = "1"
        progress("requirements: building environment \(environment.key) over \(identity.split(separator: " ").prefix(2).joined(separator: " "))")
        let output = LineCollector()
        func fail(_ message: String) -> PlatformError {
            try? fm.removeItem(atPath: directory)
            return PlatformError("requirements_failed", message, status: 400)
        }
        let venv = try await ChildProcess.run(
            python, ["-m", "venv", "--without-pip", "--system-site-packages", directory], environment: base, timeout: .seconds(60)
        ) { output.append($0) }
        guard venv == 0 else { throw fail("cannot make a virtual environment with \(python) -m venv:\n\(output.all.joined(separator: "\n"))") }
        try requirements.normalised.write(toFile: "\(directory)/requirements.txt", atomically: true, encoding: .utf8)
        // The server's pip, run by the environment's interpreter, installs into the environment
        // and counts what the server's site-packages already hold as installed.
        let pip = try await ChildProcess.run(
            environment.python, ["-m", "pip", "install", "--progress-bar", "off", "-r", "\(directory)/requirements.txt"],
            environment: base, directory: directory, timeout: timeout
        ) { line in
            output.append(line)
            progress(line)
        }
        guard let pip else {
            throw fail("installing the requirements took over \(Int(timeout.components.seconds)) s and was stopped (gaia serve --install-timeout sets the limit)")
        }
        guard pip == 0 else {
            let lines = output.all
            let errors = lines.filter { $0.hasPrefix("ERROR") }
            let shown = errors.isEmpty ? Array(lines.suffix(15)) : errors
            if lines.contains(where: { $0.contains("No module named pip") }) {
                throw fail("pip is not installed for \(python); install it (\(python) -m ensurepip) to deploy functions with requirements")
            }
            throw fail("pip could not install the requirements:\n" + shown.joined(separator: "\n"))
        }
        let seconds = (ContinuousClock.now - started).seconds
        let record: [String: Any] = ["key": environment.key, "interpreter": identity, "requirements": requirements.normalised, "build_seconds": seconds]
        try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]).write(to: URL(fileURLWithPath: "\(directory)/\(marker)"))
        progress("requirements: environment \(environment.key) built in \(String(format: "%.1f", seconds)) s")
        return environment
    }

    /// Removes every environment but `keeping` and those being built: moved aside at once (a deploy
    /// never finds half of one), deleted in the background.
    public func collect(keeping: Set<String>) -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: root) else { return [] }
        var removed: [String] = []
        for name in names where !keeping.contains(name) && builds[name] == nil && leases[name] == nil {
            let trash = "\(root)/.removed-\(name)-\(UInt32.random(in: 0...UInt32.max))"
            if name.hasPrefix(".removed-") || (try? fm.moveItem(atPath: "\(root)/\(name)", toPath: trash)) != nil {
                if !name.hasPrefix(".removed-") { removed.append(name) }
                let path = name.hasPrefix(".removed-") ? "\(root)/\(name)" : trash
                Task.detached(priority: .background) { try? FileManager.default.removeItem(atPath: path) }
            }
        }
        return removed
    }
}

/// Lines gathered from a process's output thread.
final class LineCollector: Sendable {
    private let lines = Mutex<[String]>([])
    /// Keeps the last 2,000 lines.
    func append(_ line: String) {
        lines.withLock {
            $0.append(line)
            if $0.count > 2000 { $0.removeFirst($0.count - 2000) }
        }
    }
    var all: [String] { lines.withLock { $0 } }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
