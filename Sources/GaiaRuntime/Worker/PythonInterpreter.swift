import Foundation

/// Finds the interpreter that `python3` really runs, once, so workers skip shims such as pyenv's.
public enum PythonInterpreter {
    /// The absolute path of the interpreter a command (`python3`, a path) runs.
    public static func resolve(_ command: String = "python3") throws -> String {
        let run: (status: Int32, output: String)
        do {
            run = try ShortCommand.run("/usr/bin/env", [command, "-c", "import sys; print(sys.executable)"])
        } catch {
            throw WorkerError.launchFailed("cannot run \(command): \(error)")
        }
        let path = run.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard run.status == 0, !path.isEmpty else {
            throw WorkerError.launchFailed("\(command) is not a working Python interpreter (install python3 or pass --python)")
        }
        return path
    }

    /// Whether `python` can import every one of `modules` (for optional frameworks).
    public static func canImport(_ modules: [String], python: String) -> Bool {
        (try? ShortCommand.run(python, ["-c", "import " + modules.joined(separator: ", ")]))?.status == 0
    }
}

/// A short command run to its end, its output captured: for discovery at start-up (the Python
/// interpreter, nvidia-smi), never for workers (those are `ChildProcess`es). It blocks its caller
/// until the command exits, so it must not run on an actor's executor.
enum ShortCommand {
    /// Runs `executable` with `arguments`; returns its exit status and its stdout (with stderr
    /// too when `includingStderr`, else stderr is discarded).
    static func run(_ executable: String, _ arguments: [String], includingStderr: Bool = false) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = includingStderr ? output : FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
