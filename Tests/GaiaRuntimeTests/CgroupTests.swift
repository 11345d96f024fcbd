import Foundation
@testable import GaiaRuntime
import Testing

/// An instance's cgroup, in each hierarchy this machine has: a process that joins it and leaves a
/// `setsid` grandchild behind is gone, grandchild included, once the cgroup is released, and the
/// folders are removed. Needs root (cgroups cannot be made otherwise).
struct CgroupTests {
    /// The hierarchies to try: v1 (`pids` and the rest) and the unified (v2) one where mounted.
    static var layouts: [String] {
        var found: [String] = []
        if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/pids/cgroup.procs") { found.append("v1") }
        if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") { found.append("v2:/sys/fs/cgroup") }
        if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.controllers") { found.append("v2:/sys/fs/cgroup/unified") }
        return found
    }

    @Test(arguments: layouts)
    func releasingAnInstancesCgroupKillsEverythingItStartedAndRemovesIt(layout: String) async throws {
        guard geteuid() == 0 else {
            try Test.cancel("cgroups are made only by root")
        }
        let unified = layout.hasPrefix("v2:") ? String(layout.dropFirst(3)) : nil
        let cgroups = try Cgroups.discover(unifiedMount: unified).get()
        defer { cgroups.remove() }
        #expect(cgroups.unified == (unified != nil))
        let cgroup = try cgroups.makeInstance(named: "test-\(UInt32.random(in: 0..<UInt32.max))", maxProcesses: 32, memoryLimitMB: 256, cores: 1, gpu: false)
        let folders = Set(cgroup.paths.values)
        if !cgroups.unified {
            #expect(try String(contentsOfFile: cgroup.paths["pids"]! + "/pids.max", encoding: .utf8) == "32\n")
        }
        // A process that joins it, starts a grandchild in a session of its own, and reports its pid.
        let python = try #require(try? PythonInterpreter.resolve("python3"))
        let script = """
            import os, sys, time
            for join in sys.argv[1:]:
                open(join, "w").write("0")
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(60)
                os._exit(0)
            print(os.getpid(), flush=True)
            time.sleep(60)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script] + cgroup.joinFiles
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int32(line) == process.processIdentifier, "the process said its pid: \(line)")
        // Its grandchild joined too (it was started after the parent had).
        let started = ContinuousClock.now
        var members: [Int32] = []
        while members.count < 2 && ContinuousClock.now - started < .seconds(5) {
            members = InstanceCgroup.members(of: cgroup.paths["pids"] ?? cgroup.paths["cgroup"]!)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(members.count >= 2, "the process and its grandchild are in the cgroup: \(members)")
        await cgroup.release()
        process.waitUntilExit()
        #expect(members.allSatisfy { !(ProcessStatus(of: $0)?.isLive ?? false) }, "every member was killed")
        #expect(folders.allSatisfy { !FileManager.default.fileExists(atPath: $0) }, "its folders are removed")
    }
}
