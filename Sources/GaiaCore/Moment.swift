/// An instant as the controller stores it: the `Duration` from one reference instant of the
/// process. `ContinuousClock.Instant` is a resilient type of the standard library, so outside it
/// every copy and comparison of one is a call through its value witnesses (a `memmove` per copy);
/// the controller keeps thousands of instants per function and reads them at every tick of every
/// function, so it converts at its entry points and keeps these (`Duration` is frozen: copied and
/// compared inline). Differences of instants are exact, so nothing depends on the reference.
struct Moment: Sendable, Hashable, Comparable {
    /// The time from the reference.
    var sinceReference: Duration

    /// The reference: the process's first use of a moment.
    private static let reference = ContinuousClock.now

    init(_ instant: ContinuousClock.Instant) { sinceReference = instant - Self.reference }

    private init(sinceReference: Duration) { self.sinceReference = sinceReference }

    /// The instant it is.
    var instant: ContinuousClock.Instant { Self.reference.advanced(by: sinceReference) }

    func advanced(by duration: Duration) -> Moment { Moment(sinceReference: sinceReference + duration) }

    static func < (a: Moment, b: Moment) -> Bool { a.sinceReference < b.sinceReference }

    static func - (a: Moment, b: Moment) -> Duration { a.sinceReference - b.sinceReference }
}
