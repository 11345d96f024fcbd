import Foundation

/// What `/proc/PID/stat` says of a process: its state letter and its parent. The one reader of
/// that file, for the runtime (is a fork server's orphan still alive?) and its tests.
struct ProcessStatus: Sendable, Equatable {
    /// `R`, `S`, `D`, … `Z` for a zombie, `X` for dead.
    var state: Character
    /// The parent's process id.
    var parent: Int32

    /// Whether the process runs (it is neither a zombie nor dead).
    var isLive: Bool { state != "Z" && state != "X" }

    /// The status of `pid`, or nil when there is no such process.
    init?(of pid: Int32) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")  // the command name may hold spaces and parentheses
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 1, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
        self.state = state
        self.parent = parent
    }

    /// Every process id in /proc, with its status.
    static func all() -> [Int32: ProcessStatus] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var result: [Int32: ProcessStatus] = [:]
        for pid in entries.compactMap(Int32.init) {
            if let status = ProcessStatus(of: pid) { result[pid] = status }
        }
        return result
    }
}
