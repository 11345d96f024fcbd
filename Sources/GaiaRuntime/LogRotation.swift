public import Foundation

/// Bounds what instances' logs take on disk. An instance writes its log itself (its stderr, opened
/// with `O_APPEND`), so a log over the cap is rotated by copy and truncate: its content moves to
/// `NAME.1` (replacing the one before) and the file is emptied, the instance's next write landing
/// at its new end; at most twice the cap per instance, a few lines written between the copy and
/// the truncate lost. Logs of instances long gone are removed past the newest `keepFiles` of a
/// function. The runtime runs a sweep every few seconds off its actor (plain file calls).
public struct LogRotation: Sendable {
    /// Most bytes one instance's log holds before it is rotated.
    public var maxBytes: Int
    /// Log files (and their rotated copies) kept per function beyond those written in the last hour.
    public var keepFiles: Int

    public init(maxBytes: Int = 10 * 1024 * 1024, keepFiles: Int = 100) {
        self.maxBytes = maxBytes
        self.keepFiles = keepFiles
    }

    /// One pass over `DATA/logs`: every function's folder, and the fork servers' logs at the top.
    /// Returns the files it rotated and removed.
    @discardableResult
    public func sweep(_ logs: String, now: Date = Date()) -> (rotated: [String], removed: [String]) {
        let fm = FileManager.default
        var rotated: [String] = []
        var removed: [String] = []
        var folders = [logs]
        for name in (try? fm.contentsOfDirectory(atPath: logs)) ?? [] {
            var isFolder: ObjCBool = false
            if fm.fileExists(atPath: "\(logs)/\(name)", isDirectory: &isFolder), isFolder.boolValue { folders.append("\(logs)/\(name)") }
        }
        for folder in folders {
            var files: [(path: String, modified: Date)] = []
            for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] where name.hasSuffix(".log") || name.hasSuffix(".log.1") {
                let path = "\(folder)/\(name)"
                guard let attributes = try? fm.attributesOfItem(atPath: path), attributes[.type] as? FileAttributeType == .typeRegular else { continue }
                let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
                if name.hasSuffix(".log"), size > maxBytes, Self.rotate(path) { rotated.append(path) }
                files.append((path, attributes[.modificationDate] as? Date ?? now))
            }
            // Only the top folder holds the fork servers' logs: never pruned by count.
            guard folder != logs else { continue }
            for old in files.sorted(by: { $0.modified > $1.modified }).dropFirst(keepFiles) where now.timeIntervalSince(old.modified) > 3600 {
                if (try? fm.removeItem(atPath: old.path)) != nil { removed.append(old.path) }
            }
        }
        return (rotated, removed)
    }

    /// Copies `path` to `path.1` and empties it.
    static func rotate(_ path: String) -> Bool {
        let fm = FileManager.default
        try? fm.removeItem(atPath: path + ".1")
        guard (try? fm.copyItem(atPath: path, toPath: path + ".1")) != nil else { return false }
        return truncate(path, 0) == 0
    }
}
