/// A per-rung latency predictor for one function, learned online.
///
/// Each rung that has served traffic keeps its latest measured statistic. Other rungs are predicted
/// from the most recent measurement (of the same device class where there is one) with Amdahl's
/// law: a fraction `parallelFraction` of the work speeds up with the rung's capacity (cores, or a
/// GPU's core equivalent), the rest does not. Scaling from the most recent measurement, rather than
/// keeping a rung's old figure, follows changes of load: a rung measured slow under a burst is
/// predicted faster once the rung in use shows the burst has passed. The fraction starts from the
/// analyzer's evidence (`prior(for:)`) and is refitted as soon as two CPU rungs have run.
public struct LatencyModel: Sendable, Hashable {
    /// One rung's measurement.
    public struct Measurement: Sendable, Hashable {
        /// The measured statistic, in milliseconds.
        public var milliseconds: Double
        /// How many invocations it was computed from.
        public var samples: Int
        /// Order of observation: higher is more recent.
        public var sequence: Int
    }

    /// Fraction of the work that speeds up with capacity, 0…1.
    public private(set) var parallelFraction: Double
    /// The fraction it started from, before any fit.
    public let priorFraction: Double
    /// Whether `parallelFraction` was fitted from measurements (else it is the prior).
    public private(set) var fitted = false
    /// What each rung measured.
    public private(set) var measurements: [Backend: Measurement] = [:]
    private var observations = 0
    /// The most recent measurement of each device class, and of any: what predictions scale from.
    private var latestOfClass: [DeviceClass: Backend] = [:]
    private var latest: Backend?

    /// A model with no measurements and the given parallel fraction.
    public init(parallelFraction: Double) {
        self.parallelFraction = min(max(parallelFraction, 0), 1)
        self.priorFraction = self.parallelFraction
    }

    /// The prior from the analyzer's estimate: tensor or model work big enough to be worth threads
    /// (≥ 10⁸ FLOPs or ≥ 10⁶ parameters) is mostly parallel (0.9); smaller known tensor work, half
    /// (0.5); no tensor work at all (waiting, plain Python) does not speed up with cores (0).
    public static func prior(for work: WorkEstimate) -> Double {
        if (work.flops ?? 0) >= 1e8 || (work.modelParameters ?? 0) >= 1e6 || work.generates { return 0.9 }
        if work.flops != nil || work.maxTensorElements != nil || work.modelParameters != nil { return 0.5 }
        return 0
    }

    /// Records a rung's measured statistic and refits the parallel fraction.
    public mutating func observe(_ milliseconds: Double, samples: Int, on backend: Backend) {
        observations += 1
        measurements[backend] = Measurement(milliseconds: milliseconds, samples: samples, sequence: observations)
        latestOfClass[backend.deviceClass] = backend
        latest = backend
        refit()
    }

    /// Keeps only `backend`'s measurement: the others were taken on inputs or a load that has
    /// since changed. Back to the prior fraction, predicting every rung from this one.
    public mutating func keepOnly(_ backend: Backend) {
        measurements = measurements.filter { $0.key == backend }
        latest = measurements.isEmpty ? nil : backend
        latestOfClass = measurements.isEmpty ? [:] : [backend.deviceClass: backend]
        parallelFraction = priorFraction
        fitted = false
    }

    /// Whether a rung has served enough traffic to have been measured.
    public func isMeasured(_ backend: Backend) -> Bool { measurements[backend] != nil }

    /// Whether a rung of `deviceClass` has been measured: predictions within a class scale one
    /// measurement by Amdahl's law; across classes (a CPU rung from a GPU's figure) they are a
    /// guess.
    public func hasMeasured(_ deviceClass: DeviceClass) -> Bool { latestOfClass[deviceClass] != nil }

    /// The expected statistic on a rung: scaled from the most recent measurement (of the same device
    /// class first), which is the rung's own when it was measured last; nil when nothing has been.
    public func predict(_ backend: Backend) -> Double? {
        guard let base = latestOfClass[backend.deviceClass] ?? latest, let m = measurements[base] else { return nil }
        if base == backend { return m.milliseconds }
        return m.milliseconds * amdahl(backend.computeShare) / amdahl(base.computeShare)
    }

    /// A latency measured on `from`, as expected on `to` (Amdahl's law with the current fraction).
    public func scale(_ milliseconds: Double, from: Backend, to: Backend) -> Double {
        milliseconds * amdahl(to.computeShare) / amdahl(from.computeShare)
    }

    /// Relative time on `capacity`: the serial part plus the parallel part divided among it.
    private func amdahl(_ capacity: Double) -> Double {
        (1 - parallelFraction) + parallelFraction / max(capacity, 1e-9)
    }

    /// Fits the parallel fraction to the CPU rungs measured (at least two capacities): the fraction
    /// that makes their implied single-core times agree best (least squares on logarithms), over
    /// fractions 0, 0.01, …, 1. Runs at every tick of every function on CPU rungs, so the
    /// logarithms of Amdahl's factor come from a table (`logAmdahl`), one logarithm per rung.
    private mutating func refit() {
        var points: [(capacity: Double, logMs: Double)] = []
        for (rung, m) in measurements where rung.deviceClass == .cpu && m.milliseconds > 0 {
            points.append((rung.computeShare, log(m.milliseconds)))
        }
        guard let first = points.first?.capacity, points.contains(where: { $0.capacity != first }) else { return }
        points.sort { $0.capacity < $1.capacity || ($0.capacity == $1.capacity && $0.logMs < $1.logMs) }  // one order of sums: the same fit in every process
        let n = Double(points.count)
        var best = (error: Double.infinity, fraction: parallelFraction)
        for step in 0...100 {
            var sum = 0.0
            for p in points { sum += p.logMs - Self.logAmdahl(step: step, capacity: p.capacity) }
            let mean = sum / n
            var error = 0.0
            for p in points {
                let d = p.logMs - Self.logAmdahl(step: step, capacity: p.capacity) - mean
                error += d * d
            }
            if error < best.error - 1e-12 { best = (error, Double(step) / 100) }
        }
        parallelFraction = best.fraction
        fitted = true
    }

    /// log((1 − f) + f / capacity) for f = `step` / 100: from a table for whole capacities up to
    /// `tabulated` (CPU rungs are whole cores), computed otherwise.
    private static func logAmdahl(step: Int, capacity: Double) -> Double {
        if capacity >= 1, capacity <= Double(tabulated), let cores = Int(exactly: capacity) {
            return logAmdahlTable[(cores - 1) * 101 + step]
        }
        let f = Double(step) / 100
        return log((1 - f) + f / max(capacity, 1e-9))
    }

    private static let tabulated = 256
    private static let logAmdahlTable: [Double] = (1...tabulated).flatMap { cores in
        (0...100).map { step in
            let f = Double(step) / 100
            return log((1 - f) + f / Double(cores))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
