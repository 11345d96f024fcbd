public import ServiceLifecycle

/// The control loop: ticks the runtime's controllers until shutdown. (Invocation records are not
/// its work: each is committed before its answer leaves, `InvocationLog`.)
public struct ControlLoop: Service {
    let runtime: FunctionRuntime
    let interval: Duration

    /// Creates a loop ticking every `interval`.
    public init(runtime: FunctionRuntime, interval: Duration = .seconds(1)) {
        self.runtime = runtime
        self.interval = interval
    }

    /// Ticks until graceful shutdown, then stops every instance.
    public func run() async throws {
        let (runtime, interval) = (self.runtime, self.interval)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await runtime.tick()
            }
        }
        await runtime.shutdown()
    }
}

/// The first service told of a graceful shutdown (the last in the group): it has the runtime
/// refuse deploys and stop deploys still starting their first instance, so that the HTTP server's
/// drain waits only for invocations.
public struct ShutdownNotice: Service {
    let runtime: FunctionRuntime

    /// A notice for `runtime`.
    public init(runtime: FunctionRuntime) { self.runtime = runtime }

    public func run() async throws {
        try? await gracefulShutdown()
        await runtime.beginShutdown()
    }
}
