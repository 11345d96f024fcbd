import Foundation

/// Finds the CPython whose `ast` module the conformance test compares against.
///
/// Prefers 3.12 (the grammar Gaia's parser implements): `python3.12` on PATH, then pyenv's
/// versions folder. Falls back to the nearest other 3.x it finds, which the caller reports loudly.
struct ReferencePython {
    let executable: String
    let version: String

    var isExact: Bool { version.hasPrefix("3.12.") }

    /// Whether this CPython's AST has no `type_params` fields (3.11 and older).
    var predatesTypeParams: Bool {
        let parts = version.split(separator: ".").compactMap { Int($0) }
        return parts.count >= 2 && parts[0] == 3 && parts[1] < 12
    }

    static func find() -> ReferencePython? {
        var candidates: [String] = []
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["GAIA_REFERENCE_PYTHON"] {
            guard let version = try? run(explicit, ["-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
            else { return nil }
            return ReferencePython(executable: explicit, version: version.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        for dir in (environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(dir)/python3.12")
        }
        let pyenvRoot = environment["PYENV_ROOT"] ?? "\(NSHomeDirectory())/.pyenv"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "\(pyenvRoot)/versions")) ?? []
        let sorted = versions.filter { $0.hasPrefix("3.") }.sorted { distance($0) < distance($1) }
        for v in sorted {
            let minor = v.split(separator: ".").prefix(2).joined(separator: ".")
            candidates.append("\(pyenvRoot)/versions/\(v)/bin/python\(minor)")
        }
        candidates += ["/usr/bin/python3.12", "/usr/local/bin/python3.12", "/usr/bin/python3"]
        var fallback: ReferencePython?
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            guard let version = try? run(path, ["-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
            else { continue }
            let found = ReferencePython(executable: path, version: version.trimmingCharacters(in: .whitespacesAndNewlines))
            if found.isExact { return found }
            if fallback == nil { fallback = found }
        }
        return fallback
    }

    /// How far a version string is from 3.12, for choosing the nearest fallback.
    private static func distance(_ version: String) -> Int {
        let minor = Int(version.split(separator: ".").dropFirst().first ?? "") ?? 0
        return abs(minor - 12)
    }

    /// Runs a command and returns its standard output; throws if it exits non-zero.
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(executable) exited \(process.terminationStatus)"])
        }
        return String(decoding: data, as: UTF8.self)
    }
}
