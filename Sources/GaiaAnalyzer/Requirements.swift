/// A function's `requirements.txt`, read as pip reads it: one requirement per line, `#` comments,
/// `\` continuations, and a few global options (`--index-url`, `--extra-index-url`,
/// `--find-links`, `--pre`…).
///
/// Lines that would reach outside the upload are refused: `-r`/`-c` (other files), `-e` and local
/// paths or `file:` URLs (folders of the server's machine). `normalised` is the text a virtual
/// environment is keyed by: project names canonical (PEP 503), blanks collapsed, lines sorted and
/// unique, so that the same requirements written differently share one environment.
public struct Requirements: Sendable, Equatable {
    /// One requirement or option.
    public struct Line: Sendable, Equatable {
        /// 1-based line in the file (the first of a continued line).
        public var number: Int
        /// The line, normalised.
        public var text: String
        /// The project's canonical name (nil for an option line).
        public var project: String?
    }

    /// The requirements and options, in file order.
    public let lines: [Line]

    /// Options a requirements file may give.
    static let allowedOptions: Set<String> = [
        "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--pre", "--trusted-host", "--prefer-binary",
        "--only-binary", "--no-binary",
    ]

    /// Reads a requirements file; throws a message naming the first line it refuses.
    public init(_ bytes: [UInt8]) throws(RequirementsError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw RequirementsError("requirements.txt is not UTF-8 text") }
        var lines: [Line] = []
        var pending = ""
        var start = 0
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if pending.isEmpty { start = index + 1 }
            // A comment starts at '#' at the line's start or after a blank (a URL's #fragment stays).
            if let hash = line.indices.first(where: { line[$0] == "#" && ($0 == line.startIndex || line[line.index(before: $0)].isWhitespace) }) {
                line = line[..<hash]
            }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            let whole = (pending + line).split(whereSeparator: \.isWhitespace).joined(separator: " ")
            pending = ""
            guard !whole.isEmpty else { continue }
            lines.append(try Self.line(whole, number: start))
        }
        self.lines = lines
    }

    private static func line(_ text: String, number: Int) throws(RequirementsError) -> Line {
        func refuse(_ why: String) -> RequirementsError {
            RequirementsError("requirements.txt:\(number): '\(text.prefix(120))' \(why)")
        }
        if text.hasPrefix("-") {
            let option = String(text.prefix { $0 != " " && $0 != "=" })
            guard allowedOptions.contains(option) else {
                if ["-r", "--requirement", "-c", "--constraint"].contains(option) { throw refuse("names another file; put its requirements in this one") }
                if ["-e", "--editable"].contains(option) { throw refuse("is an editable install; name a released version or a URL") }
                throw refuse("is an option Gaia does not pass to pip (it takes \(allowedOptions.sorted().joined(separator: ", ")))")
            }
            return Line(number: number, text: text, project: nil)
        }
        let name = text.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
        guard !name.isEmpty, !text.hasPrefix("."), !text.lowercased().contains("file:") else {
            throw refuse("is not a project from an index or a URL (a local path or file: URL names the server's disk)")
        }
        let project = canonical(name)
        // The name, extras and versions without blanks (`numpy >= 1.26` as `numpy>=1.26`); a URL
        // (`name @ https://…`) and the environment marker after `;` keep single blanks.
        var specifier = text.dropFirst(name.count)
        var marker = ""
        if let semicolon = specifier.firstIndex(of: ";") {
            marker = "; " + specifier[specifier.index(after: semicolon)...].trimmingPrefix(" ")
            specifier = specifier[..<semicolon]
        }
        let requirement = specifier.contains("@") ? specifier.trimmingSuffix(" ") : String(specifier.filter { $0 != " " })
        return Line(number: number, text: project + requirement + marker, project: project)
    }

    /// A project name as PEP 503 compares them: lowercase, runs of `-`, `_`, `.` as one `-`.
    public static func canonical(_ name: some StringProtocol) -> String {
        var out = ""
        for c in name.lowercased() {
            if c == "-" || c == "_" || c == "." {
                if !out.hasSuffix("-") { out.append("-") }
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// Whether anything would be installed.
    public var isEmpty: Bool { !lines.contains { $0.project != nil } }

    /// The lines sorted and unique, one per line: what an environment is keyed by and built from.
    public var normalised: String { Set(lines.map(\.text)).sorted().joined(separator: "\n") + "\n" }

    /// Projects whose module name is not their name with `-` as `_`.
    static let modules: [String: String] = [
        "scikit-learn": "sklearn", "pillow": "PIL", "opencv-python": "cv2", "opencv-python-headless": "cv2",
        "opencv-contrib-python": "cv2", "tensorflow-gpu": "tensorflow", "tensorflow-cpu": "tensorflow",
        "onnxruntime-gpu": "onnxruntime", "llama-cpp-python": "llama_cpp", "openai-whisper": "whisper",
        "scikit-image": "skimage", "open-clip-torch": "open_clip", "paddlepaddle": "paddle", "paddlepaddle-gpu": "paddle",
        "pytorch-lightning": "pytorch_lightning", "tf-keras": "tf_keras", "flash-attn": "flash_attn",
    ]

    /// The top-level module a project installs (`cupy-cuda12x` → `cupy`, `scikit-learn` → `sklearn`).
    public static func module(of project: String) -> String {
        if let module = modules[project] { return module }
        if project.hasPrefix("cupy-") { return "cupy" }
        return String(project.map { $0 == "-" ? "_" : $0 })
    }
}

extension Substring {
    fileprivate func trimmingSuffix(_ character: Character) -> String {
        var text = self
        while text.last == character { text = text.dropLast() }
        return String(text)
    }
}

/// Why a requirements file was refused.
public struct RequirementsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
