extension Duration {
    /// The duration in (fractional) milliseconds.
    public var inMilliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
