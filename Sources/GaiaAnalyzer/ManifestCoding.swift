public import Foundation
public import GaiaCore
import Yams

extension FunctionManifest {
    /// The manifest as pretty, key-sorted JSON.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// The manifest as YAML, fields in declaration order.
    public func yaml() throws -> String {
        YAMLNumbers.decimal(try YAMLEncoder().encode(self))
    }

    /// Reads a manifest from JSON.
    public static func fromJSON(_ data: Data) throws -> FunctionManifest {
        try JSONDecoder().decode(FunctionManifest.self, from: data)
    }

    /// Reads a manifest from YAML.
    public static func fromYAML(_ text: String) throws -> FunctionManifest {
        try YAMLDecoder().decode(FunctionManifest.self, from: text)
    }
}

/// Numbers in YAML as people write them: Yams writes a `Double` in its own exponent form (`0.95`
/// as `9.5e-1`, 4 as `4e+0`); this rewrites each plain number value with an exponent in the
/// shortest form that reads back the same (`0.95`, `2147483648.0`, `4e-06` below 10⁻⁴, as JSON
/// shows it). Quoted strings are left alone.
public enum YAMLNumbers {
    public static func decimal(_ yaml: String) -> String {
        var lines: [Substring] = []
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let cut = line.range(of: ": ", options: .backwards) ?? (line.trimmingPrefix(while: { $0 == " " }).hasPrefix("- ") ? line.range(of: "- ") : nil)
            else {
                lines.append(line)
                continue
            }
            // Only `key: value` with a plain key (or `- value`): not a line inside a long string.
            var key = line[..<cut.lowerBound].drop { $0 == " " }
            if key.hasPrefix("- ") { key = key.dropFirst(2) }
            let value = line[cut.upperBound...]
            guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }), value.contains(where: { $0 == "e" || $0 == "E" }), value.allSatisfy({ "0123456789.eE+-".contains($0) }),
                let number = Double(value), number.isFinite
            else {
                lines.append(line)
                continue
            }
            lines.append(line[..<cut.upperBound] + Substring(number.description))
        }
        return lines.joined(separator: "\n")
    }
}
