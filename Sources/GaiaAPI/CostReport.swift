import Foundation

/// The body of `GET /v1/functions/{name}/cost`: what the function cost, billed per invocation and
/// as instance time (idle included), per rung, with the price table used.
public struct CostReport: Codable, Sendable, Equatable {
    /// The function.
    public var function: String
    /// Invocations recorded.
    public var invocations: Int
    /// Σ duration × rung price, USD.
    public var billedUSD: Double
    /// Billed per 1,000 invocations, USD.
    public var billedPer1000USD: Double
    /// Instance-seconds, idle included.
    public var instanceSeconds: Double
    /// Instance-seconds × rung price, USD.
    public var providerCostUSD: Double
    /// The same per rung.
    public var byBackend: [BackendCost]
    /// The prices used.
    public var prices: Prices

    enum CodingKeys: String, CodingKey {
        case function, invocations, prices
        case billedUSD = "billed_usd"
        case billedPer1000USD = "billed_per_1000_usd"
        case instanceSeconds = "instance_seconds"
        case providerCostUSD = "provider_cost_usd"
        case byBackend = "by_backend"
    }

    /// A report.
    public init(
        function: String, invocations: Int, billedUSD: Double, billedPer1000USD: Double, instanceSeconds: Double,
        providerCostUSD: Double, byBackend: [BackendCost], prices: Prices
    ) {
        self.function = function
        self.invocations = invocations
        self.billedUSD = billedUSD
        self.billedPer1000USD = billedPer1000USD
        self.instanceSeconds = instanceSeconds
        self.providerCostUSD = providerCostUSD
        self.byBackend = byBackend
        self.prices = prices
    }

    /// Cost on one rung.
    public struct BackendCost: Codable, Sendable, Equatable {
        /// The rung.
        public var backend: String
        /// Invocations it served.
        public var invocations: Int
        /// Of which successful.
        public var successful: Int
        /// Billed, USD.
        public var billedUSD: Double
        /// Billed per 1,000 invocations, USD.
        public var billedPer1000USD: Double
        /// Mean latency, ms.
        public var meanMs: Double
        /// Instance-seconds on it.
        public var instanceSeconds: Double
        /// Instance-seconds × price, USD.
        public var providerCostUSD: Double
        /// Its price per instance-second, USD.
        public var pricePerSecondUSD: Double

        enum CodingKeys: String, CodingKey {
            case backend, invocations, successful
            case billedUSD = "billed_usd"
            case billedPer1000USD = "billed_per_1000_usd"
            case meanMs = "mean_ms"
            case instanceSeconds = "instance_seconds"
            case providerCostUSD = "provider_cost_usd"
            case pricePerSecondUSD = "price_per_second_usd"
        }

        /// A rung's cost.
        public init(
            backend: String, invocations: Int, successful: Int, billedUSD: Double, billedPer1000USD: Double, meanMs: Double,
            instanceSeconds: Double, providerCostUSD: Double, pricePerSecondUSD: Double
        ) {
            self.backend = backend
            self.invocations = invocations
            self.successful = successful
            self.billedUSD = billedUSD
            self.billedPer1000USD = billedPer1000USD
            self.meanMs = meanMs
            self.instanceSeconds = instanceSeconds
            self.providerCostUSD = providerCostUSD
            self.pricePerSecondUSD = pricePerSecondUSD
        }
    }

    /// The price table, USD per second.
    public struct Prices: Codable, Sendable, Equatable {
        /// One vCPU.
        public var vcpuSecond: Double
        /// One GiB of memory.
        public var memoryGiBSecond: Double
        /// One whole GPU, on top of its host share.
        public var gpuSecond: Double
        /// Memory counted per instance, GiB.
        public var memoryGiBPerInstance: Double

        enum CodingKeys: String, CodingKey {
            case vcpuSecond = "vcpu_second"
            case memoryGiBSecond = "memory_gib_second"
            case gpuSecond = "gpu_second"
            case memoryGiBPerInstance = "memory_gib_per_instance"
        }

        /// A price table.
        public init(vcpuSecond: Double, memoryGiBSecond: Double, gpuSecond: Double, memoryGiBPerInstance: Double) {
            self.vcpuSecond = vcpuSecond
            self.memoryGiBSecond = memoryGiBSecond
            self.gpuSecond = gpuSecond
            self.memoryGiBPerInstance = memoryGiBPerInstance
        }
    }
}

/// Amounts of money as a person reads them.
public enum Dollars {
    /// `$1.25` for a cent or more; below, three significant figures and no exponent
    /// (`$0.0000000370`, where `%f` printed `$0.000000` and `\(x)` `3.7e-08`); `$0` for nothing.
    public static func text(_ usd: Double) -> String {
        guard usd.isFinite else { return "$?" }
        guard usd != 0 else { return "$0" }
        if abs(usd) >= 0.01 { return String(format: "$%.2f", usd) }
        let decimals = min(15, Int((-log10(abs(usd))).rounded(.up)) + 2)
        return String(format: "$%.\(decimals)f", usd)
    }
}
