public import Foundation

/// How the API's bodies are written and read: JSON with ISO-8601 dates; every type spells its
/// keys in snake_case itself (no key strategy, so embedded values such as the manifest keep theirs).
public enum APICoding {
    /// The encoder of every response and request body.
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys]
        return encoder
    }

    /// The decoder of every response and request body.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
