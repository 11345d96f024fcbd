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
        try YAMLEncoder().encode(self)
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
