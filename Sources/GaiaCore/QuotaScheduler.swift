import DequeModule

/// Admits invocations to one shared device (a GPU, or a set of CPU cores) so that each client (an
/// instance on a share rung) gets its time quota of the device while others contend for it:
/// HAS-GPU's token scheduler, at invocation granularity.
///
/// Every client has a time quota (percent of the device's busy time over a sliding `window`) and
/// an SM share (percent of the device it occupies while it runs). When the device has room, the
/// waiting client furthest below its quota goes first: its busy time over the window divided by
/// its quota is the smallest, so clients under their guaranteed share go before those over it.
/// Holders run together while their SM shares sum to at most 100% (CPU shares take the whole
/// device: one at a time). It is work-conserving: a client over its quota still runs when nobody
/// under quota waits, so an idle neighbour's time is not wasted. A quota change takes effect at the
/// next admission, with no restart (vertical scaling).
///
/// Limits, by construction: it decides when an invocation starts, not how long it runs (no CUDA
/// interception), so one invocation longer than `quota × window` overruns its quota by the
/// difference, and the shares converge over several invocations rather than within one.
///
/// A value: time is an input, it returns the tickets to admit, and the runtime (`DeviceScheduler`)
/// resumes those invocations.
public struct QuotaScheduler: Sendable {
    /// One invocation waiting for or holding the device.
    public typealias Ticket = Int

    /// A client's state.
    struct Client {
        var quota: Double
        var sm: Int
        /// Invocations it can run at once (its instances' slots): admitting more would hold the
        /// device for requests that wait for an instance.
        var slots = 1
        var waiting: Deque<Ticket> = []
        var running: [Ticket: ContinuousClock.Instant] = [:]
        /// Finished holds within the window, oldest first.
        var busy: Deque<(start: ContinuousClock.Instant, end: ContinuousClock.Instant)> = []
        /// Busy time summed over all finished holds still in `busy`.
        var total: Duration = .zero
    }

    /// The window quotas are measured over.
    public let window: Duration
    private var clients: [String: Client] = [:]
    private var tickets: [Ticket: String] = [:]
    private var nextTicket = 0
    /// SM percent held by running invocations.
    public private(set) var smInUse = 0

    /// A scheduler with quotas measured over `window` (HAS-GPU: 40 ms, for kernels; at invocation
    /// granularity a window of several invocations measures shares more steadily).
    public init(window: Duration = .seconds(1)) {
        self.window = window > .zero ? window : .seconds(1)
    }

    /// Asks for the device for one invocation of `client`, with its current quota and SM share
    /// (percent; a changed quota applies from now) and the invocations it can run at once (`slots`).
    /// Returns its ticket and the tickets admitted now (this one among them when the device has
    /// room and nobody further below quota waits).
    ///
    /// A client should ask for every invocation it has, not one at a time: a client with one
    /// request outstanding is never waiting when the device frees, so it alternates with the others
    /// whatever the quotas.
    public mutating func request(
        client name: String, quotaPercent: Int, smPercent: Int = 100, slots: Int = 1, at now: ContinuousClock.Instant
    ) -> (ticket: Ticket, admitted: [Ticket]) {
        nextTicket += 1
        let ticket = nextTicket
        var client = clients[name] ?? Client(quota: 1, sm: 100)
        client.quota = Double(min(max(quotaPercent, 1), 100)) / 100
        client.sm = min(max(smPercent, 1), 100)
        client.slots = max(1, slots)
        client.waiting.append(ticket)
        clients[name] = client
        tickets[ticket] = name
        return (ticket, admit(at: now))
    }

    /// The invocation holding (or waiting with) `ticket` ended; returns the tickets admitted now.
    public mutating func finished(_ ticket: Ticket, at now: ContinuousClock.Instant) -> [Ticket] {
        guard let name = tickets.removeValue(forKey: ticket), var client = clients[name] else { return [] }
        if let start = client.running.removeValue(forKey: ticket) {
            smInUse -= client.sm
            if now > start {
                client.busy.append((start, now))
                client.total += now - start
            }
        } else if let index = client.waiting.firstIndex(of: ticket) {
            client.waiting.remove(at: index)
        }
        clients[name] = client
        prune(at: now)
        return admit(at: now)
    }

    /// `client`'s busy time over the window ending at `now`, as a fraction of the window (running
    /// invocations count up to `now`).
    public func share(of name: String, at now: ContinuousClock.Instant) -> Double {
        guard let client = clients[name] else { return 0 }
        return busy(client, at: now) / window.inSeconds
    }

    /// Invocations waiting for the device.
    public var waitingCount: Int { clients.values.reduce(0) { $0 + $1.waiting.count } }

    /// Admits waiting invocations while the device has room: the client with the lowest usage
    /// relative to its quota first (under quota before over quota), while SM shares fit and the
    /// client has a free slot.
    private mutating func admit(at now: ContinuousClock.Instant) -> [Ticket] {
        var admitted: [Ticket] = []
        while true {
            var best: (name: String, priority: Double)?
            for (name, client) in clients
            where !client.waiting.isEmpty && client.running.count < client.slots && smInUse + client.sm <= 100 {
                let priority = busy(client, at: now) / window.inSeconds / client.quota
                if best == nil || priority < best!.priority || (priority == best!.priority && name < best!.name) {
                    best = (name, priority)
                }
            }
            guard let best, var client = clients[best.name] else { return admitted }
            let ticket = client.waiting.removeFirst()
            client.running[ticket] = now
            smInUse += client.sm
            clients[best.name] = client
            admitted.append(ticket)
        }
    }

    /// Seconds of `client`'s holds within the window ending at `now`.
    private func busy(_ client: Client, at now: ContinuousClock.Instant) -> Double {
        let from = now - window
        var seconds = client.total.inSeconds
        for hold in client.busy {  // holds straddling the window's start count only their part inside
            guard hold.start < from else { break }
            seconds -= (min(hold.end, from) - hold.start).inSeconds
        }
        for start in client.running.values where now > start { seconds += (now - max(start, from)).inSeconds }
        return max(0, seconds)
    }

    /// Drops holds that ended before the window, and clients with nothing left in it.
    private mutating func prune(at now: ContinuousClock.Instant) {
        let from = now - window
        for name in Array(clients.keys) {
            guard var client = clients[name] else { continue }
            while let first = client.busy.first, first.end <= from {
                client.busy.removeFirst()
                client.total -= first.end - first.start
            }
            if client.busy.isEmpty && client.running.isEmpty && client.waiting.isEmpty {
                clients.removeValue(forKey: name)
            } else {
                clients[name] = client
            }
        }
    }
}
