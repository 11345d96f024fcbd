import Foundation

/// Finds the interpreter that `python3` really runs, once, so workers skip shims such as pyenv's.
public enum PythonInterpreter {
    /// The absolute path of the interpreter a command (`python3`, a path) runs.
    public static func resolve(_ command: String = "python3") throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command, "-c", "import sys; print(sys.executable)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw WorkerError.launchFailed("cannot run \(command): \(error)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, !path.isEmpty else {
            throw WorkerError.launchFailed("\(command) is not a working Python interpreter (install python3 or pass --python)")
        }
        return path
    }

    /// Whether `python` can import every one of `modules` (for optional frameworks).
    public static func canImport(_ modules: [String], python: String) -> Bool {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = ["-c", "import " + modules.joined(separator: ", ")]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return false }
        check.waitUntilExit()
        return check.terminationStatus == 0
    }
}
