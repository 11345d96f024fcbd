import Foundation
import GaiaCore

/// The Python files of one function: a single file, or a folder with its modules.
public struct FunctionSource: Sendable {
    /// The folder the relative paths are relative to.
    public let root: String
    /// Every `.py` file, by path relative to `root`.
    public let files: [String: [UInt8]]
    /// The file with the handler, relative to `root`.
    public let entryPoint: String
    /// `requirements.txt`, when the function has one: a framework it names is evidence like an import.
    public let requirements: [UInt8]?
    /// The handler the entry point defines and the convention it follows (nil: none Gaia knows).
    public let handler: HandlerEntry?

    /// Files Gaia looks for, in order, as a folder's entry point.
    public static let entryPointNames = ["handler.py", "main.py", "app.py", "function.py", "func.py"]

    /// Creates a source from files in memory (tests, uploads). `handler`: what `handler(among:)`
    /// found in the entry point, if it was asked; else it is found here.
    public init(root: String = ".", files: [String: [UInt8]], entryPoint: String, requirements: [UInt8]? = nil, handler: HandlerEntry? = nil) {
        self.root = root
        self.files = files
        self.entryPoint = entryPoint
        self.requirements = requirements
        self.handler = handler ?? files[entryPoint].flatMap(HandlerConventions.detect(bytes:))
    }

    /// Loads a `.py` file, or every `.py` file of a folder (its entry point: `entryPoint(among:)`).
    /// Folders of a function's folder that are not the function: caches, virtual environments, tests.
    public static let skippedFolders: Set<String> = ["__pycache__", ".git", ".venv", "venv", "node_modules", "site-packages", "tests", "test"]

    public static func load(path: String) throws -> FunctionSource {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AnalyzerError("cannot read '\(path)': no such file or folder")
        }
        if !isDirectory.boolValue {
            guard path.hasSuffix(".py") else {
                throw AnalyzerError("'\(path)' is not a Python file: give a .py file or a folder of them")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AnalyzerError("cannot read '\(path)': permission denied or not a regular file")
            }
            let url = URL(fileURLWithPath: path)
            let name = url.lastPathComponent
            return FunctionSource(root: url.deletingLastPathComponent().path, files: [name: Array(data)], entryPoint: name)
        }
        var files: [String: [UInt8]] = [:]
        let enumerator = FileManager.default.enumerator(atPath: path)
        while let relative = enumerator?.nextObject() as? String {
            let component = (relative as NSString).lastPathComponent
            if skippedFolders.contains(component) || component.hasPrefix(".") {
                enumerator?.skipDescendants()
                continue
            }
            guard relative.hasSuffix(".py") else { continue }
            guard let data = FileManager.default.contents(atPath: path + "/" + relative) else {
                throw AnalyzerError("cannot read '\(path)/\(relative)': permission denied")
            }
            files[relative] = Array(data)
        }
        guard !files.isEmpty else {
            throw AnalyzerError("'\(path)' has no .py files: a function is a Python file or a folder with one")
        }
        guard let (entry, handler) = handler(among: files) else {
            throw AnalyzerError(
                "cannot tell which file of '\(path)' holds the handler: none of its \(files.count) Python file(s) defines one Gaia knows. "
                    + "Define `def handle(payload, context)` in handler.py, or one of:\n" + HandlerConvention.known)
        }
        let requirements = FileManager.default.contents(atPath: path + "/requirements.txt").map(Array.init)
        return FunctionSource(root: path, files: files, entryPoint: entry, requirements: requirements, handler: handler)
    }

    /// Every file of the function at `path` (which `source` was loaded from) as a deploy uploads
    /// it, by relative path: a lone `.py` file, or each file of a folder (data and weights too) but
    /// those under `skippedFolders` and hidden ones.
    public static func uploadFiles(of source: FunctionSource, at path: String) throws -> [String: [UInt8]] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else { return source.files }
        var files: [String: [UInt8]] = [:]
        let walker = FileManager.default.enumerator(atPath: path)
        while let relative = walker?.nextObject() as? String {
            let component = (relative as NSString).lastPathComponent
            if skippedFolders.contains(component) || component.hasPrefix(".") {
                walker?.skipDescendants()
                continue
            }
            let full = path + "/" + relative
            guard (try? FileManager.default.attributesOfItem(atPath: full)[.type] as? FileAttributeType) != .typeDirectory else { continue }
            guard let data = FileManager.default.contents(atPath: full) else {
                throw AnalyzerError("cannot read '\(full)': permission denied or not a regular file")
            }
            files[relative] = Array(data)
        }
        return files
    }

    /// The file holding the handler among a function's `.py` files: the first, by the usual names
    /// (`handler.py`, `main.py`, `app.py`, … `predict.py`, `model/model.py`, `lambda_function.py`),
    /// then shallowest and by name, that defines a handler of a convention Gaia knows; else
    /// `handler.py` (… `func.py`) or the only file, whose deploy then says what it lacks.
    public static func entryPoint(among files: [String: [UInt8]]) -> String? {
        handler(among: files)?.file
    }

    /// The entry point and the handler it defines (nil when it follows no known convention).
    public static func handler(among files: [String: [UInt8]]) -> (file: String, entry: HandlerEntry?)? {
        let python = files.filter { $0.key.hasSuffix(".py") }
        func rank(_ path: String) -> Int { preferredNames.firstIndex(of: path) ?? preferredNames.count }
        func depth(_ path: String) -> Int { path.split(separator: "/").count }
        let ranked = python.keys.sorted { (rank($0), depth($0), $0) < (rank($1), depth($1), $1) }
        for file in ranked {
            if let entry = HandlerConventions.detect(bytes: python[file]!) { return (file, entry) }
        }
        let named = entryPointNames.first { python[$0] != nil } ?? (python.count == 1 ? python.keys.first : nil)
        return named.map { ($0, nil) }
    }

    /// The usual entry-point files of Gaia and the platforms whose handlers it runs, in the order
    /// they are looked at.
    static let preferredNames = entryPointNames + [
        "predict.py", "model/model.py", "rp_handler.py", "lambda_function.py", "function_app.py", "service.py",
        "server.py", "serve.py", "handler/handler.py", "function/handler.py", "function/func.py",
    ]

    /// The file a module name refers to, if it is one of this function's own modules.
    /// `from_file` is the importing file, for relative imports (`level` > 0).
    func localModule(_ module: String, level: Int, from file: String) -> String? {
        var base: [Substring] = []
        if level > 0 {
            base = file.split(separator: "/").dropLast()
            for _ in 1..<level where !base.isEmpty { base.removeLast() }
        }
        let parts = base + module.split(separator: ".")
        guard !parts.isEmpty else { return nil }
        let path = parts.joined(separator: "/")
        if files[path + ".py"] != nil { return path + ".py" }
        if files[path + "/__init__.py"] != nil { return path + "/__init__.py" }
        return nil
    }
}

/// A problem with the input to the analyzer: what was wrong and what to do.
public struct AnalyzerError: Error, CustomStringConvertible, Sendable {
    /// The message for a person.
    public let description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
