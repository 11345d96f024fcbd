/// Predicts one function's service time and throughput on a rung, for a batch size, from what its
/// invocations measured as it ran: per device class and batch size, `latency ≈ a + b / share`, where
/// `share` is the compute an invocation holds (`Backend.computeShare`: cores, or a GPU's SM share in
/// core equivalents), fitted by least squares over recent samples. Amdahl's law of the CPU rungs
/// is the special case `a = T(1 − p)`, `b = T·p`. A time quota does not change one invocation's
/// service time; it divides the rung's throughput.
///
/// Until a class has samples at two shares, it falls back to the prior: the analyzer's parallel
/// fraction (`LatencyModel.prior`) through the one share measured. It reports its own error: the
/// mean absolute percentage error of a fit on the older samples, tested on the most recent ones.
public struct PerformancePredictor: Sendable {
    /// One fitted curve: `a + b / share` milliseconds.
    public struct Curve: Sendable, Hashable {
        /// Milliseconds that do not speed up with share.
        public var a: Double
        /// Milliseconds × share that do.
        public var b: Double
        /// The latency at `share`.
        public func milliseconds(share: Double) -> Double { a + b / max(share, 1e-9) }

        /// The latency on `backend` (at its compute share).
        public func milliseconds(on backend: Backend) -> Double { milliseconds(share: backend.computeShare) }

        /// Requests per second one instance on `backend` completes when busy, this curve being
        /// that of batches of `batch`: `slots` batches at a time, for its time quota of the device.
        public func throughput(on backend: Backend, batch: Int = 1, slots: Int = 1) -> Double? {
            let ms = milliseconds(on: backend)
            guard ms > 0 else { return nil }
            return Double(max(1, batch) * max(1, slots)) * 1000 / ms * Double(backend.quotaPercent) / 100
        }
    }

    private struct Key: Hashable {
        var deviceClass: DeviceClass
        var batch: Int
    }

    /// The most recent samples of one curve, overwritten in turn once full (recording is on the
    /// path of every invocation, in `gaia serve` and the simulator: no allocation once full).
    private struct Ring {
        var points: [(share: Double, ms: Double)] = []
        var next = 0

        mutating func append(_ point: (share: Double, ms: Double), capacity: Int) {
            if points.count < capacity {
                points.append(point)
            } else {
                points[next] = point
                next = (next + 1) % capacity
            }
        }

        /// Oldest first.
        var ordered: [(share: Double, ms: Double)] { Array(points[next...] + points[..<next]) }
    }

    /// Samples kept per device class and batch size (the most recent).
    public let capacity: Int
    /// Batches of one, by device class (CPU, GPU): the common case, kept out of the dictionary.
    private var single = [Ring(), Ring()]
    /// Larger batches.
    private var batched: [Key: Ring] = [:]
    /// The prior's parallel fraction.
    public let priorFraction: Double

    /// A predictor with the analyzer's parallel fraction as its prior.
    public init(priorFraction: Double, capacity: Int = 200) {
        self.priorFraction = min(max(priorFraction, 0), 1)
        self.capacity = max(10, capacity)
    }

    /// Records one invocation's service time (the handler's own time, no queueing) of a batch of
    /// `batch` requests on `backend` (curves are fitted when asked for: recording stays cheap).
    public mutating func observe(serviceMs: Double, on backend: Backend, batch: Int = 1) {
        guard serviceMs.isFinite, serviceMs > 0 else { return }
        let point = (share: backend.computeShare, ms: min(serviceMs, 1e9))
        if batch <= 1 {
            single[backend.deviceClass == .cpu ? 0 : 1].append(point, capacity: capacity)
        } else {
            batched[Key(deviceClass: backend.deviceClass, batch: batch), default: Ring()].append(point, capacity: capacity)
        }
    }

    /// Samples recorded (kept), over all classes and batch sizes.
    public var sampleCount: Int { (single + Array(batched.values)).reduce(0) { $0 + $1.points.count } }

    private func ring(_ deviceClass: DeviceClass, batch: Int) -> Ring? {
        if batch <= 1 { return single[deviceClass == .cpu ? 0 : 1] }
        return batched[Key(deviceClass: deviceClass, batch: batch)]
    }

    /// The expected service time of a batch on `backend`, ms (nil: nothing measured in its class
    /// for that batch size).
    public func serviceMs(on backend: Backend, batch: Int = 1) -> Double? {
        curve(backend.deviceClass, batch: batch)?.milliseconds(on: backend)
    }

    /// Requests per second one instance on `backend` completes when busy: `slots` batches of
    /// `batch` at a time, for its time quota of the device.
    public func throughput(on backend: Backend, batch: Int = 1, slots: Int = 1) -> Double? {
        curve(backend.deviceClass, batch: batch)?.throughput(on: backend, batch: batch, slots: slots)
    }

    /// The batch sizes with a curve, for a device class.
    public func batchSizes(_ deviceClass: DeviceClass) -> [Int] {
        let one = ring(deviceClass, batch: 1)!.points.isEmpty ? [] : [1]
        return one + batched.keys.filter { $0.deviceClass == deviceClass }.map(\.batch).sorted()
    }

    /// The fitted curve of a class and batch size.
    public func curve(_ deviceClass: DeviceClass, batch: Int = 1) -> Curve? {
        ring(deviceClass, batch: batch).flatMap { fit($0.points) }
    }

    /// Least squares of `ms` on `1 / share` (both coefficients kept ≥ 0); with a single share, the
    /// prior's split of the mean.
    private func fit(_ points: [(share: Double, ms: Double)]) -> Curve? {
        guard !points.isEmpty else { return nil }
        let n = Double(points.count)
        let xs = points.map { 1 / max($0.share, 1e-9) }
        let mx = xs.reduce(0, +) / n
        let my = points.reduce(0) { $0 + $1.ms } / n
        var sxx = 0.0
        var sxy = 0.0
        for (x, p) in zip(xs, points) {
            sxx += (x - mx) * (x - mx)
            sxy += (x - mx) * (p.ms - my)
        }
        if sxx > 1e-12 * max(1, mx * mx) {
            let b = max(0, sxy / sxx)
            let a = my - b * mx
            if a >= 0 { return Curve(a: a, b: b) }
            // A negative constant part is noise: keep the share-dependent part alone.
            let b0 = points.reduce(0) { $0 + $1.ms / max($1.share, 1e-9) } / xs.reduce(0) { $0 + $1 * $1 }
            return Curve(a: 0, b: max(0, b0))
        }
        // One share: T((1 − p) + p / share) = my.
        let p = priorFraction
        let t = my / ((1 - p) + p * mx)
        return Curve(a: t * (1 - p), b: t * p)
    }

    /// Mean absolute percentage error, percent, of fits made without each curve's most recent fifth,
    /// tested on that fifth (nil until a curve has 10 samples).
    public var error: Double? {
        var errors: [Double] = []
        for kept in single + Array(batched.values) where kept.points.count >= 10 {
            let all = kept.ordered
            let held = max(2, all.count / 5)
            guard let curve = fit(Array(all.dropLast(held))) else { continue }
            for point in all.suffix(held) where point.ms > 0 {
                errors.append(abs(curve.milliseconds(share: point.share) - point.ms) / point.ms)
            }
        }
        return errors.isEmpty ? nil : errors.reduce(0, +) / Double(errors.count) * 100
    }
}
