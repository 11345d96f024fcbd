import GaiaCore
import GaiaRuntime
import GaiaStore
public import Prometheus

/// Gaia's Prometheus metrics, named in the `gaia_` namespace with base units (seconds): requests, latency, cold starts (per function and backend) and
/// instances and the current rung (per function, read at scrape time).
public final class GaiaMetrics: Sendable {
    /// The registry `/metrics` emits.
    public let registry: PrometheusCollectorRegistry

    /// Latency buckets from 1 ms to 60 s.
    static let buckets: [Duration] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000]
        .map { .microseconds(Int64($0 * 1000)) }

    /// Creates the metrics in a registry of their own.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Records one invocation.
    func recordInvocation(function: String, backend: String, status: Int, duration: Duration, coldStart: Bool, coldStartWait: Duration = .zero) {
        let labels = [("function", function), ("backend", backend)]
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "invocations", unitName: "total", helpText: "Invocations by function, backend and HTTP status"),
            labels: labels + [("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "invocation_duration", unitName: "seconds", helpText: "Invocation latency, arrival to response"),
            labels: labels, buckets: Self.buckets
        ).record(duration)
        if coldStart {
            registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "cold_starts", unitName: "total", helpText: "Invocations that waited for an instance to start"),
                labels: labels
            ).increment()
            registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "cold_start_duration", unitName: "seconds", helpText: "Time a cold request waited for its instance to start"),
                labels: labels, buckets: Self.buckets
            ).record(coldStartWait)
        }
    }

    /// Records how long a streamed answer took to send its first chunk, from the request's arrival.
    func recordFirstChunk(function: String, after duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "time_to_first_chunk", unitName: "seconds", helpText: "Streamed invocations: arrival to the first chunk"),
            labels: [("function", function)], buckets: Self.buckets
        ).record(duration)
    }

    /// The exposition text, with instance gauges refreshed from the runtime and GPU gauges from a
    /// fresh sample of the machine's GPUs.
    func render(runtime: FunctionRuntime) async -> String {
        await recordGPUs(of: runtime.configuration.machine)
        for f in await runtime.functions() {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "instances", unitName: "", helpText: "Instances running or starting"),
                labels: [("function", f.name)]
            ).set(Double(await runtime.instanceCount(f.name)))
            if let idle = try? await runtime.idleness(of: f.name) {
                registry.makeGauge(
                    descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "idle_instance", unitName: "seconds", helpText: "Instance-seconds with no request running since the function was loaded"),
                    labels: [("function", f.name)]
                ).set(idle.idleInstanceSeconds)
            }
            guard let rung = try? await runtime.rung(of: f.name) else { continue }
            for r in rung.rungs {
                registry.makeGauge(
                    descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "function_rung", unitName: "active", helpText: "1 for the rung a function runs on now, 0 for its other rungs"),
                    labels: [("function", f.name), ("backend", r.description)]
                ).set(r == rung.current ? 1.0 : 0.0)
            }
            if let error = rung.predictorError {
                registry.makeGauge(
                    descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "predictor_error", unitName: "ratio", helpText: "The performance predictor's mean absolute percentage error on held-out recent invocations"),
                    labels: [("function", f.name)]
                ).set(error / 100)
            }
            registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "demand_forecast", unitName: "requests_per_second", helpText: "The request rate the controller plans for (the larger of the arrival rates over the stable and the panic window)"),
                labels: [("function", f.name)]
            ).set(rung.demandForecast)
        }
        return registry.emitToString()
    }

    /// GPU utilisation and memory, sampled now (NVML, else nvidia-smi, off the caller's executor);
    /// stand-ins have none.
    private func recordGPUs(of machine: Machine) async {
        guard machine.gpus.contains(where: { !$0.standIn }) else { return }
        let sampled = await Task.detached { GPUInventory.discover() }.value
        for gpu in machine.gpus where !gpu.standIn {
            let now = sampled.gpus.first { $0.uuid == gpu.uuid }
            let labels = [("gpu", "gpu\(gpu.index)"), ("uuid", gpu.uuid), ("name", gpu.name)]
            registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "gpu_memory_total", unitName: "bytes", helpText: "GPU memory"),
                labels: labels
            ).set(Double(gpu.memoryTotalMiB) * 1_048_576)
            if let used = now?.memoryUsedMiB {
                registry.makeGauge(
                    descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "gpu_memory_used", unitName: "bytes", helpText: "GPU memory in use, sampled at scrape time"),
                    labels: labels
                ).set(Double(used) * 1_048_576)
            }
            if let utilization = now?.utilizationPercent {
                registry.makeGauge(
                    descriptor: MetricNameDescriptor(namespace: "gaia", metricName: "gpu_utilization", unitName: "ratio", helpText: "Fraction of the last sample period a kernel ran on the GPU (NVML), sampled at scrape time"),
                    labels: labels
                ).set(Double(utilization) / 100)
            }
        }
    }
}
