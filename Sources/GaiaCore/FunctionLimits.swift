/// How many instances a machine can run at once, and which of its resources sets that: the
/// fewest of its cores (a few instances a core), its memory (a reservation an instance), and its
/// process limit (a few processes an instance), or the operator's own figure.
public struct InstanceCapacity: Sendable, Hashable, CustomStringConvertible {
    /// Most instances, of all functions together (at least 1).
    public var instances: Int
    /// The resource that sets it, in words (`2 cores × 8 an instance`).
    public var reason: String

    /// The capacity of a machine with `cores`, `memoryMiB` of memory and room for `processLimit`
    /// more processes (nil: unknown, not bounding); `operatorLimit` (the server's `max_instances`)
    /// wins when given.
    public init(
        cores: Int, memoryMiB: Int?, processLimit: Int?, perCore: Int = 8, instanceMiB: Int = 256,
        processesPerInstance: Int = 4, operatorLimit: Int? = nil
    ) {
        if let operatorLimit {
            instances = max(1, operatorLimit)
            reason = "the server's max_instances"
            return
        }
        var bounds = [(max(1, cores) * max(1, perCore), "\(max(1, cores)) core\(cores == 1 ? "" : "s") × \(max(1, perCore)) instances a core")]
        if let memoryMiB, memoryMiB > 0 {
            bounds.append((memoryMiB / max(1, instanceMiB), "\(memoryMiB / 1024) GiB of memory, \(max(1, instanceMiB)) MiB an instance"))
        }
        if let processLimit, processLimit > 0 {
            bounds.append((processLimit / max(1, processesPerInstance), "room for \(processLimit) more processes, \(max(1, processesPerInstance)) an instance"))
        }
        let least = bounds.min { $0.0 < $1.0 }!
        instances = max(1, least.0)
        reason = least.1
    }

    /// `16 instances (2 cores × 8 instances a core)`.
    public var description: String { "\(instances) instance\(instances == 1 ? "" : "s") (\(reason))" }

    /// Instances for each of several functions that together want more than `instances`. What a
    /// function `needs` (its minimum scale, or what its load asks for) is served first, max-min
    /// fair (water-filling): a function needing no more than an equal part gets what it needs, and
    /// what it leaves is shared among the others the same way; what is left then goes to the idle
    /// instances functions would keep (`kept`, keep-alive) the same way. A remainder goes to the
    /// earliest listed. When everything fits, each gets `needs + kept`.
    public func share(needs: [Int], kept: [Int]) -> [Int] {
        let first = Self.waterFill(needs, instances)
        let second = Self.waterFill(kept, instances - first.reduce(0, +))
        return zip(first, second).map { $0 + $1 }
    }

    private static func waterFill(_ wants: [Int], _ capacity: Int) -> [Int] {
        var grants = wants.map { _ in 0 }
        var left = capacity
        var open = wants.indices.filter { wants[$0] > 0 }
        while left > 0, !open.isEmpty {
            let part = max(1, left / open.count)
            var next: [Int] = []
            for i in open {
                guard left > 0 else { break }
                let take = min(part, wants[i] - grants[i], left)
                grants[i] += take
                left -= take
                if grants[i] < wants[i] { next.append(i) }
            }
            open = next
        }
        return grants
    }
}

/// A function's settings out of bounds: what was wrong and what to do.
public struct FunctionSettingsError: Error, CustomStringConvertible, Sendable, Hashable {
    /// `invalid_scale`, `invalid_batch` or `over_capacity`.
    public var code: String
    /// What was wrong and what to do.
    public var description: String
}

/// The bounds on a function's own settings: one check for a deploy and an update, and one bounding
/// of a manifest read back from the store (an older server may have accepted what this one refuses).
public struct FunctionLimits: Sendable, Hashable {
    /// Requests one instance may run at once.
    public static let concurrency = 1...1000
    /// Largest batch of a function with `handle_batch`.
    public static let maxBatch = 1...1024
    /// A function's own invocation timeout, seconds.
    public static let timeoutSeconds = 0.1...3600.0
    /// The platform's defaults for a function that names no scale bounds.
    public var defaults: AutoscalerSettings
    /// Instances the machine can run at once (nil: not bounded here, a cluster).
    public var capacity: InstanceCapacity?

    /// Limits over the platform's defaults and the machine's capacity.
    public init(defaults: AutoscalerSettings, capacity: InstanceCapacity?) {
        self.defaults = defaults
        self.capacity = capacity
    }

    /// Checks a function's settings (nil: the platform's default).
    public func check(minScale: Int?, maxScale: Int?, concurrency: Int?, maxBatch: Int?, timeoutSeconds: Double? = nil) throws(FunctionSettingsError) {
        if let timeoutSeconds, !(timeoutSeconds.isFinite && Self.timeoutSeconds.contains(timeoutSeconds)) {
            throw FunctionSettingsError(
                code: "invalid_timeout",
                description: "the timeout must be \(Self.timeoutSeconds.lowerBound)…\(Int(Self.timeoutSeconds.upperBound)) seconds (got \(timeoutSeconds))")
        }
        let ceiling = AutoscalerSettings.instanceCeiling
        if let minScale, !(0...ceiling).contains(minScale) {
            throw FunctionSettingsError(code: "invalid_scale", description: "min scale must be 0…\(ceiling) (got \(minScale))")
        }
        if let maxScale, !(1...ceiling).contains(maxScale) {
            throw FunctionSettingsError(code: "invalid_scale", description: "max scale must be 1…\(ceiling) (got \(maxScale))")
        }
        if let concurrency, !Self.concurrency.contains(concurrency) {
            throw FunctionSettingsError(
                code: "invalid_scale", description: "concurrency must be \(Self.concurrency.lowerBound)…\(Self.concurrency.upperBound) (got \(concurrency))")
        }
        if let maxBatch, !Self.maxBatch.contains(maxBatch) {
            throw FunctionSettingsError(
                code: "invalid_batch", description: "max batch must be between \(Self.maxBatch.lowerBound) and \(Self.maxBatch.upperBound) (got \(maxBatch))")
        }
        let low = minScale ?? defaults.minScale
        let high = maxScale ?? defaults.maxScale
        if low > high {
            let which = maxScale == nil ? " (the platform's default; give max scale too)" : minScale == nil ? " (min scale is the platform's default)" : ""
            throw FunctionSettingsError(code: "invalid_scale", description: "min scale \(low) is above max scale \(high)\(which)")
        }
        if let capacity, low > capacity.instances {
            throw FunctionSettingsError(
                code: "over_capacity",
                description: "min scale \(low) can never be met: this machine runs at most \(capacity); ask for \(capacity.instances) or fewer")
        }
    }

    /// A stored manifest brought within the bounds `check` enforces, with a sentence for each value
    /// changed (empty when it was within them): values out of range are clamped, a minimum above the
    /// maximum or the machine is lowered, an unreadable keep-alive or rung is dropped.
    public func bounded(_ manifest: FunctionManifest) -> (manifest: FunctionManifest, changes: [String]) {
        var m = manifest
        var changes: [String] = []
        func clamp(_ value: inout Int?, _ range: ClosedRange<Int>, _ name: String) {
            guard let v = value, !range.contains(v) else { return }
            value = range.clamp(v)
            changes.append("\(name) \(v) is outside \(range.lowerBound)…\(range.upperBound): using \(value!)")
        }
        let ceiling = AutoscalerSettings.instanceCeiling
        clamp(&m.maxScale, 1...ceiling, "max scale")
        clamp(&m.minScale, 0...ceiling, "min scale")
        clamp(&m.concurrency, Self.concurrency, "concurrency")
        clamp(&m.maxBatch, Self.maxBatch, "max batch")
        if let t = m.timeoutSeconds, !(t.isFinite && Self.timeoutSeconds.contains(t)) {
            m.timeoutSeconds = nil
            changes.append("timeout \(t) s is outside \(Self.timeoutSeconds.lowerBound)…\(Int(Self.timeoutSeconds.upperBound)) s: using the server's")
        }
        let high = m.maxScale ?? defaults.maxScale
        if let low = m.minScale, low > high {
            m.minScale = high
            changes.append("min scale \(low) is above max scale \(high): using \(high)")
        }
        if let capacity, let low = m.minScale, low > capacity.instances {
            m.minScale = capacity.instances
            changes.append("min scale \(low) is more than this machine runs (\(capacity)): using \(capacity.instances)")
        }
        if let text = m.keepAlive, (try? KeepAliveSettings.Mode(parsing: text)) == nil {
            m.keepAlive = nil
            changes.append("keep-alive '\(text.prefix(40))' is not readable: adaptive")
        }
        if let text = m.rung, Backend(text) == nil {
            m.rung = nil
            changes.append("rung '\(text.prefix(40))' is not readable: the mode controller chooses")
        }
        return (m, changes)
    }
}
