extension Duration {
    /// The duration in (fractional) milliseconds.
    public var inMilliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }

    /// The duration in (fractional) seconds.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension Duration {
    /// The longest duration any setting may hold: about 100 years. Values from requests, files and
    /// the store are clamped to it, so no conversion of an untrusted number can trap.
    public static let longest = Duration.seconds(100 * 365 * 86_400)

    /// `seconds` as a duration, clamped to `[0, longest]`; NaN is zero. Never traps.
    public static func clamped(seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return seconds == .infinity ? longest : .zero }
        let limit = Double(longest.components.seconds)
        guard seconds < limit else { return longest }
        return .microseconds(Int64(seconds * 1_000_000))
    }

    /// `milliseconds` as a duration, clamped like `clamped(seconds:)`.
    public static func clamped(milliseconds: Double) -> Duration { clamped(seconds: milliseconds / 1000) }
}
