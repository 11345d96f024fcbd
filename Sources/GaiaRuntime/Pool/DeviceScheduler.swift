public import GaiaCore
import Synchronization

/// Carries out one shared device's `QuotaScheduler`: an invocation on a share rung waits here
/// until the scheduler admits it, and reports when it ends.
public actor DeviceScheduler {
    /// The device, for logs and metrics: `gpu0`, or `cpu:0,1` for a set of cores.
    public nonisolated let device: String
    private var policy: QuotaScheduler
    private var waiters: [QuotaScheduler.Ticket: CheckedContinuation<Void, Never>] = [:]
    private var admitted: Set<QuotaScheduler.Ticket> = []
    private let clock = ContinuousClock()

    /// A scheduler for `device` with quotas over `window`.
    public init(device: String, window: Duration) {
        self.device = device
        self.policy = QuotaScheduler(window: window)
    }

    /// Waits until `client` may run one invocation with its quota and SM share; returns the ticket
    /// to hand back to `finished`.
    public func admit(client: String, quotaPercent: Int, smPercent: Int, slots: Int) async -> QuotaScheduler.Ticket {
        let (ticket, admittedNow) = policy.request(
            client: client, quotaPercent: quotaPercent, smPercent: smPercent, slots: slots, at: clock.now)
        resume(admittedNow)
        if admitted.remove(ticket) != nil { return ticket }
        await withCheckedContinuation { waiters[ticket] = $0 }
        return ticket
    }

    /// The invocation holding `ticket` ended.
    public func finished(_ ticket: QuotaScheduler.Ticket) {
        resume(policy.finished(ticket, at: clock.now))
    }

    /// `client`'s share of the device's time over the scheduler's window.
    public func share(of client: String) -> Double { policy.share(of: client, at: clock.now) }

    /// Invocations waiting for the device.
    public var waiting: Int { policy.waitingCount }

    private func resume(_ tickets: [QuotaScheduler.Ticket]) {
        for ticket in tickets {
            if let waiter = waiters.removeValue(forKey: ticket) { waiter.resume() } else { admitted.insert(ticket) }
        }
    }
}

/// The device schedulers of one machine, one per shared device, made on first use.
public final class DeviceSchedulers: Sendable {
    private let schedulers = Mutex<[String: DeviceScheduler]>([:])
    /// The window every scheduler measures quotas over.
    public let window: Duration

    /// Schedulers measuring quotas over `window`.
    public init(window: Duration = .seconds(1)) {
        self.window = window
    }

    /// The scheduler of an instance's device on `backend`: its GPU, or the set of cores it is
    /// pinned to (functions pinned to the same cores share them under one scheduler).
    public func scheduler(for backend: Backend, cores: [Int]) -> DeviceScheduler {
        let key: String
        switch backend {
        case .gpu(let device, _, _): key = "gpu\(device)"
        case .cpu: key = "cpu:" + cores.sorted().map(String.init).joined(separator: ",")
        }
        let window = self.window
        return schedulers.withLock { all in
            if let existing = all[key] { return existing }
            let made = DeviceScheduler(device: key, window: window)
            all[key] = made
            return made
        }
    }
}

/// How a pool's invocations on share rungs reach their device's scheduler: the machine's
/// schedulers and the name the pool is known by there.
public struct ShareGate: Sendable {
    /// The machine's device schedulers.
    public var schedulers: DeviceSchedulers
    /// The pool's client name (function and rung).
    public var client: String

    /// A gate.
    public init(schedulers: DeviceSchedulers, client: String) {
        self.schedulers = schedulers
        self.client = client
    }
}
