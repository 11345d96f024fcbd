public import GaiaCore
import Synchronization

/// The machine's instance capacity, shared by every local pool: starting an instance takes a
/// slot, and the slot comes back once the instance has stopped (or failed to start). A pool that
/// finds none left refuses the start (`PoolError.machineFull`) and counts the refusal, so that the
/// control loop's fair share sees that function's demand.
public final class InstanceSlots: Sendable {
    /// Most instances at once, and what sets that.
    public let capacity: InstanceCapacity
    private let used = Mutex(0)

    /// Slots for `capacity` instances, none taken.
    public init(capacity: InstanceCapacity) {
        self.capacity = capacity
    }

    /// Takes a slot; false when all are taken.
    public func take() -> Bool {
        used.withLock { used in
            guard used < capacity.instances else { return false }
            used += 1
            return true
        }
    }

    /// Gives a slot back.
    public func give() {
        used.withLock { $0 = max(0, $0 - 1) }
    }

    /// Slots taken now.
    public var inUse: Int { used.withLock { $0 } }
}
