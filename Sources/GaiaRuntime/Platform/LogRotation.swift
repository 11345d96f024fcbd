public import Foundation

/// Bounds what instances' logs take on disk. An instance writes its log itself (its stderr, opened
/// with `O_APPEND`), so a log over the cap is rotated by copy and truncate: its last `maxBytes`
/// move to `NAME.1` (replacing the one before; what came earlier is dropped, so a function that
/// wrote 200 MB between two sweeps leaves a capped copy) and the file is emptied, the instance's
/// next write landing at its new end; at most twice the cap per instance between sweeps, a few
/// lines written between the copy and the truncate lost. Logs of instances long gone are removed past the newest `keepFiles` of a
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
                if name.hasSuffix(".log"), size > maxBytes, Self.rotate(path, keeping: maxBytes) { rotated.append(path) }
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

    /// Copies the last `keeping` bytes of `path` to `path.1` (in chunks: the log may be far larger
    /// than memory should hold) and empties it.
    static func rotate(_ path: String, keeping: Int) -> Bool {
        let fm = FileManager.default
        try? fm.removeItem(atPath: path + ".1")
        guard let source = FileHandle(forReadingAtPath: path),
            fm.createFile(atPath: path + ".1", contents: nil), let copy = FileHandle(forWritingAtPath: path + ".1")
        else { return false }
        defer {
            try? source.close()
            try? copy.close()
        }
        do {
            let size = try source.seekToEnd()
            try source.seek(toOffset: size > UInt64(keeping) ? size - UInt64(keeping) : 0)
            var left = min(Int(clamping: size), keeping)
            while left > 0, let chunk = try source.read(upToCount: min(left, 1 << 20)), !chunk.isEmpty {
                try copy.write(contentsOf: chunk)
                left -= chunk.count
            }
        } catch {
            return false
        }
        return truncate(path, 0) == 0
    }
}
