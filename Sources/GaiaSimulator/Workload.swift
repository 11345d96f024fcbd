public import GaiaCore

/// How long one invocation of a function takes on each rung: a calibrated model, per device class,
/// of time against payload size, with noise. Units: milliseconds and seconds.
public struct Workload: Sendable, Hashable {
    /// Time of one invocation on a device class as a function of the payload's size `n`:
    /// `base + k2·x² + k3·x³` ms with `x = n / 10⁴` (matmul's cubic work and quadratic data).
    public struct Curve: Sendable, Hashable {
        /// Milliseconds at size 0.
        public var base: Double
        /// Milliseconds per x².
        public var k2: Double = 0
        /// Milliseconds per x³.
        public var k3: Double = 0

        /// A curve.
        public init(base: Double, k2: Double = 0, k3: Double = 0) {
            self.base = base
            self.k2 = k2
            self.k3 = k3
        }

        /// Milliseconds at size `n`.
        public func milliseconds(size n: Double) -> Double {
            let x = n / 10_000
            return max(0, base + k2 * x * x + k3 * x * x * x)
        }
    }

    /// Random variation around the curve.
    public enum Noise: Sendable, Hashable {
        /// Multiplied by a lognormal factor with median 1 and this σ (0: none).
        case lognormal(sigma: Double)
        /// Exponentially distributed with the curve as mean (for queueing checks: M/M/c).
        case exponential
    }

    /// Its name (`matmul`, `tinyllama`).
    public var name: String
    /// The mode Gaia's analyzer gives its code (what the `gaia` policy runs it with).
    public var mode: ExecutionMode
    /// What the analyzer estimates of its work (the latency model's prior).
    public var work: WorkEstimate
    /// On CPU: the curve on `referenceCores` cores, and the fraction of it that speeds up with cores.
    public var cpu: Curve
    /// Cores the CPU curve was measured on.
    public var referenceCores: Int
    /// Fraction of CPU time that speeds up with cores (Amdahl).
    public var parallelFraction: Double
    /// On a whole GPU.
    public var gpu: Curve
    /// Percent of a GPU's SMs one invocation keeps busy: on an SM share at least this large it runs
    /// as fast as on the whole GPU, on a smaller one `smDemand / sm` times slower (100: every
    /// share slows it in proportion).
    public var smDemand: Int
    /// Variation.
    public var noise: Noise
    /// Seconds from asking for an instance to its being ready, per device class.
    public var coldStartSeconds: [DeviceClass: Double]
    /// Where its figures come from.
    public var source: String

    /// A workload.
    public init(
        name: String, mode: ExecutionMode, work: WorkEstimate = WorkEstimate(), cpu: Curve, referenceCores: Int = 4,
        parallelFraction: Double, gpu: Curve, smDemand: Int = 100, noise: Noise = .lognormal(sigma: 0.1),
        coldStartSeconds: [DeviceClass: Double] = [.cpu: 1, .gpu: 5], source: String = ""
    ) {
        self.name = name
        self.mode = mode
        self.work = work
        self.cpu = cpu
        self.referenceCores = referenceCores
        self.parallelFraction = parallelFraction
        self.gpu = gpu
        self.smDemand = min(max(smDemand, 1), 100)
        self.noise = noise
        self.coldStartSeconds = coldStartSeconds
        self.source = source
    }

    /// Mean milliseconds on `backend` at size `n`: the CPU curve rescaled from its reference cores by
    /// Amdahl's law, or the GPU curve (an SM share smaller than `smDemand` runs it `smDemand/sm`
    /// times slower).
    public func meanMilliseconds(on backend: Backend, size n: Double) -> Double {
        switch backend {
        case .cpu(let cores, _):
            let f = parallelFraction
            let scale = ((1 - f) + f / Double(max(1, cores))) / ((1 - f) + f / Double(max(1, referenceCores)))
            return cpu.milliseconds(size: n) * scale
        case .gpu(_, let sm, _):
            return gpu.milliseconds(size: n) * max(1, Double(smDemand) / Double(max(1, min(100, sm))))
        }
    }

    /// The random part of one request's service time, drawn once when it arrives: the same request
    /// takes the same relative time on whichever rung a policy runs it.
    public struct Draw: Sendable, Hashable {
        /// Uniform in [0, 1) (exponential noise).
        public var uniform: Double
        /// Standard normal (lognormal noise).
        public var gaussian: Double

        /// A draw from `random`.
        public init(random: inout SplitMix64) {
            uniform = random.nextUnit()
            gaussian = random.nextGaussian()
        }
    }

    /// One invocation's service time in seconds, for its `draw`.
    public func serviceSeconds(on backend: Backend, size n: Double, draw: Draw) -> Double {
        let mean = meanMilliseconds(on: backend, size: n) / 1000
        switch noise {
        case .exponential:
            return -mean * log(1 - draw.uniform)
        case .lognormal(let sigma):
            guard sigma > 0 else { return mean }
            return mean * exp(sigma * draw.gaussian)
        }
    }

    /// Cold start on a rung, seconds.
    public func coldStart(on backend: Backend) -> Double { coldStartSeconds[backend.deviceClass] ?? 1 }
}

extension Workload {
    /// The four workloads of the Gaia paper's evaluation, calibrated to the published prototype's
    /// runs (`../shared/data/gaia-thesis`, see docs/EVALUATION.md for each figure's origin).
    public static let catalog: [String: Workload] = [
        // Least-squares fits of the prototype's matmul-increment runs (sizes 0–20,000, step 200):
        // CPU 487 − 2,226·x² + 3,787·x³ ms, GPU 74 + 885·x² − 41·x³ ms (x = n/10⁴; means 5,200 and
        // 1,187 ms over the sequence, as measured). The CPU fit's negative x² term is the data's:
        // it stays positive over 0–20,000. Cold starts: the paper's 1.7 s CPU, 9.8 s GPU.
        "matmul": Workload(
            name: "matmul", mode: .gpuPreferred, work: WorkEstimate(maxTensorElements: 4e8, flops: 1.6e13),
            cpu: Curve(base: 487, k2: -2226, k3: 3787), parallelFraction: 0.95,
            gpu: Curve(base: 74, k2: 885, k3: -41), noise: .lognormal(sigma: 0.1),
            coldStartSeconds: [.cpu: 1.7, .gpu: 9.8], source: "prototype matmul-increment runs (cpu, gpu)"),
        // GPU: the prototype's resnet18-gpu run (mean 159, median 152 ms); CPU: its resnet18-auto run,
        // which stayed on CPU (mean 185, median 189 ms). Cold start GPU 4.3 s (first request).
        // SM demand 44%, from an H100 under MPS (docs/PERFORMANCE.md, bench/gpu/share.sh): an
        // instance on half the SMs served as many requests as one on the whole GPU (199 vs 188 req/s),
        // one on a quarter 1.76× fewer (107 req/s): 25% × 1.76 = 44%.
        "resnet18": Workload(
            name: "resnet18", mode: .gpuPreferred, work: WorkEstimate(flops: 3.6e9, modelParameters: 11.7e6),
            cpu: Curve(base: 185), parallelFraction: 0.8, gpu: Curve(base: 152), smDemand: 44, noise: .lognormal(sigma: 0.15),
            coldStartSeconds: [.cpu: 3.0, .gpu: 4.3], source: "prototype resnet18-gpu and resnet18-auto runs"),
        // The paper's TinyLlama means: CPU 1,577 ms, GPU 164 ms (the prototype's automatic run
        // settles at a median of 142 ms once promoted). Cold starts 26.5 s CPU, 31.9 s GPU.
        "tinyllama": Workload(
            name: "tinyllama", mode: .gpuPreferred, work: WorkEstimate(flops: 2.8e11, modelParameters: 1.1e9, generates: true),
            cpu: Curve(base: 1577), parallelFraction: 0.9, gpu: Curve(base: 150), noise: .lognormal(sigma: 0.2),
            coldStartSeconds: [.cpu: 26.5, .gpu: 31.9], source: "Gaia paper means; prototype tinyllama-auto run"),
        // A 2 s wait: 2,095 ms on CPU and 2,091 ms on GPU in the paper; no work speeds up.
        "idle": Workload(
            name: "idle", mode: .cpu, cpu: Curve(base: 2080), parallelFraction: 0, gpu: Curve(base: 2080),
            noise: .lognormal(sigma: 0.005), coldStartSeconds: [.cpu: 2.6, .gpu: 2.6], source: "prototype idle-auto run"),
    ]

    /// A workload with exponential service times of mean `milliseconds` on every rung and no cold
    /// start: the M/M/c queue, for checks against closed-form results.
    public static func exponential(milliseconds: Double) -> Workload {
        Workload(
            name: "exponential", mode: .cpu, cpu: Curve(base: milliseconds), referenceCores: 1, parallelFraction: 0,
            gpu: Curve(base: milliseconds), noise: .exponential, coldStartSeconds: [.cpu: 0, .gpu: 0], source: "synthetic")
    }
}

extension SplitMix64 {
    /// A uniform double in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A standard normal deviate (Box–Muller).
    mutating func nextGaussian() -> Double {
        let u1 = max(nextUnit(), 1e-300)
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
