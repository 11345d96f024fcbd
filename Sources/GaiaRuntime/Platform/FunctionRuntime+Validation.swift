import Foundation
import GaiaCore
import GaiaAnalyzer
import GaiaStore
import Logging
import PythonSyntax

/// What a deploy request may hold: files, paths, environment variables (pure checks).
extension FunctionRuntime {
    /// Most files one function may upload.
    static let maxFiles = 1000

    static func validate(_ request: DeployRequest, maxBytes: Int) throws {
        let name = request.name
        let validName = (1...63).contains(name.utf8.count) && name.utf8.first.map { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) } == true
            && name.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") }
        guard validName else {
            throw PlatformError(
                "invalid_name", "'\(name.prefix(100))' is not a valid function name: use lowercase ASCII letters, digits and '-', starting with a letter, at most 63 characters",
                status: 400)
        }
        let size = request.files.values.reduce(0) { $0 + $1.count }
        guard size <= maxBytes else {
            throw PlatformError("too_large", "the upload is \(size) bytes; the limit is \(maxBytes)", status: 413)
        }
        guard !request.files.isEmpty else { throw PlatformError("invalid_function", "no files uploaded", status: 400) }
        guard request.files.count <= maxFiles else {
            throw PlatformError("invalid_function", "\(request.files.count) files uploaded; the limit is \(maxFiles)", status: 400)
        }
        for path in request.files.keys { try validate(path: path) }
        // A path may not also be a folder of another (`a` beside `a/b`).
        for path in request.files.keys {
            var folder = Substring(path)
            while let slash = folder.lastIndex(of: "/") {
                folder = folder[..<slash]
                if request.files[String(folder)] != nil {
                    throw PlatformError("invalid_function", "'\(folder)' is both a file and the folder of '\(path)'", status: 400)
                }
            }
        }
        for (kind, variables) in [("environment variable", request.environment ?? [:]), ("secret", request.secrets ?? [:])] {
            try validate(variables, kind)
        }
    }

    /// Names Gaia sets for every instance: a function may not give them.
    static let reservedVariables: Set<String> = [
        "CUDA_VISIBLE_DEVICES", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "CUDA_MPS_PIPE_DIRECTORY", "CUDA_MPS_LOG_DIRECTORY",
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "PYTHONUNBUFFERED",
    ]

    /// Environment variables or secrets: at most 100, names as POSIX shells take them (letters,
    /// digits, `_`, not starting with a digit, at most 128 bytes; none of Gaia's own), values
    /// without NUL bytes, at most 32 KiB each.
    static func validate(_ variables: [String: String], _ kind: String) throws {
        guard variables.count <= 100 else {
            throw PlatformError("invalid_environment", "\(variables.count) \(kind)s given; the limit is 100", status: 400)
        }
        for (name, value) in variables {
            let bytes = Array(name.utf8)
            let valid = (1...128).contains(bytes.count) && !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[0])
                && bytes.allSatisfy { $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0 | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            guard valid else {
                throw PlatformError(
                    "invalid_environment", "'\(name.prefix(60))' is not a valid \(kind) name: use letters, digits and '_', not starting with a digit",
                    status: 400)
            }
            guard !name.hasPrefix("GAIA_") && !reservedVariables.contains(name) else {
                throw PlatformError("invalid_environment", "\(name) is set by Gaia for every instance; choose another name", status: 400)
            }
            guard value.utf8.count <= 32 * 1024, !value.utf8.contains(0) else {
                throw PlatformError("invalid_environment", "the \(kind) \(name) is over 32 KiB or holds a NUL byte", status: 400)
            }
        }
    }

    /// A file path of an upload: relative, in plain components (no empty, `.` or `..` one, no
    /// trailing slash), each at most 255 bytes of printable characters, at most 1,024 bytes in all.
    static func validate(path: String) throws {
        func refuse(_ why: String) -> PlatformError {
            PlatformError("invalid_path", "file path '\(path.prefix(120))' \(why)", status: 400)
        }
        guard !path.isEmpty, path.utf8.count <= 1024 else { throw refuse("must have 1 to 1,024 bytes") }
        guard !path.hasPrefix("/") else { throw refuse("must be relative") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for part in parts {
            guard !part.isEmpty else { throw refuse("has an empty component (a doubled or trailing '/')") }
            guard part != ".", part != ".." else { throw refuse("must stay inside the function (no '.' or '..')") }
            guard part.utf8.count <= 255 else { throw refuse("has a component over 255 bytes") }
            guard part.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F && $0 != "\\" }) else {
                throw refuse("has a control character or a backslash")
            }
        }
    }
}
