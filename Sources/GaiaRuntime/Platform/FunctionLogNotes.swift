import Foundation

/// The platform's own lines in a function's log (`logs/NAME/rREV-gaia.log`, which `gaia logs`
/// shows beside the instances' output): each failed invocation with its id, status and the first
/// line of its error. Appended here, off the runtime's actor, one line at a time.
actor FunctionLogNotes {
    /// Appends `line` to the file at `path` (made if missing).
    func append(_ line: String, to path: String) {
        let data = Data((line + "\n").utf8)
        guard let handle = FileHandle(forWritingAtPath: path) else {
            _ = FileManager.default.createFile(atPath: path, contents: data)
            return
        }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: data)
    }
}
