import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Functions' secrets, apart from their manifests and the database: one JSON file per revision,
/// `DATA/secrets/NAME/rN.json`, readable by the server's user only (folders 0700, files 0600,
/// written whole under a temporary name and renamed). Their values reach instances as environment
/// variables and nothing else: the API and the dashboard show only their names.
struct SecretStore: Sendable {
    let root: String

    init(dataDirectory: String) { root = dataDirectory + "/secrets" }

    private func folder(_ name: String) -> String { "\(root)/\(name)" }
    private func path(_ name: String, _ revision: Int) -> String { "\(folder(name))/r\(revision).json" }

    /// The secrets of a revision (none when it has none).
    func values(_ name: String, revision: Int) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path(name, revision)) else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: data)) ?? [:]
    }

    /// Stores a revision's secrets (nothing for none).
    func write(_ values: [String: String], _ name: String, revision: Int) throws {
        guard !values.isEmpty else { return }
        for dir in [root, folder(name)] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            chmod(dir, 0o700)
        }
        let target = path(name, revision)
        let temporary = target + ".tmp"
        let data = try JSONEncoder().encode(values)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PlatformError("storage", "cannot write the function's secrets: \(String(cString: strerror(errno)))", status: 500) }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == data.count, rename(temporary, target) == 0 else {
            unlink(temporary)
            throw PlatformError("storage", "cannot write the function's secrets", status: 500)
        }
    }

    /// Removes every revision's secrets but `revision`'s.
    func keepOnly(_ name: String, revision: Int) {
        let keep = "r\(revision).json"
        for file in (try? FileManager.default.contentsOfDirectory(atPath: folder(name))) ?? [] where file != keep {
            try? FileManager.default.removeItem(atPath: "\(folder(name))/\(file)")
        }
    }

    /// Removes one revision's secrets.
    func remove(_ name: String, revision: Int) { try? FileManager.default.removeItem(atPath: path(name, revision)) }

    /// Removes a function's secrets.
    func remove(_ name: String) { try? FileManager.default.removeItem(atPath: folder(name)) }

    /// `text` with every secret value of at least 4 characters replaced by `[secret NAME]`.
    static func redact(_ text: String, _ secrets: [String: String]) -> String {
        var text = text
        for (key, value) in secrets.sorted(by: { $0.value.count > $1.value.count }) where value.count >= 4 {
            text = text.replacingOccurrences(of: value, with: "[secret \(key)]")
        }
        return text
    }
}
