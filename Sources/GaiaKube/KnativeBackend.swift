
/// One step of moving a function from one variant to the other on the cluster. A switch is always
/// these four, in this order; none of them makes a new revision of the function.
public enum SwitchStep: Sendable, Hashable, CustomStringConvertible {
    /// Raise the target revision's min-scale: Knative starts its pods (the warm-up).
    case raiseMinScale(revision: String, to: Int)
    /// Its pods are ready (the revision's `Ready` condition, `actualReplicas` ≥ the min-scale).
    case observeReady(revision: String, replicas: Int)
    /// Gaia's gateway sends the function's requests to the target Service from now on.
    case shiftTraffic(to: String)
    /// Lower the old revision's min-scale to 0: Knative scales it down once idle.
    case lowerMinScale(revision: String)

    public var description: String {
        switch self {
        case .raiseMinScale(let r, let n): "raise min-scale of \(r) to \(n)"
        case .observeReady(let r, let n): "observe \(r) ready with \(n) pod(s)"
        case .shiftTraffic(let s): "shift traffic to \(s)"
        case .lowerMinScale(let r): "lower min-scale of \(r) to 0"
        }
    }

    /// The plan of a switch to `target` (its latest ready revision `targetRevision`) from the
    /// revision that serves now, warming `instances` pods first.
    public static func plan(targetService: String, targetRevision: String, oldRevision: String, instances: Int) -> [SwitchStep] {
        let n = max(1, instances)
        return [
            .raiseMinScale(revision: targetRevision, to: n), .observeReady(revision: targetRevision, replicas: n),
            .shiftTraffic(to: targetService), .lowerMinScale(revision: oldRevision),
        ]
    }
}

/// The cluster side of Gaia's runtime: applies each function's variant Services and carries out
/// the mode controller's moves between them by shifting the gateway's traffic (the published
/// prototype patched the Service on every switch, a new revision and a cold start each time).
/// It keeps which variant serves each function; the gateway asks `route(of:)` per request.
public actor KnativeBackend {
    let client: KubeClient
    /// The Service each function's requests go to now.
    private var routes: [String: String] = [:]
    /// The steps carried out, in order (for the decision log and tests).
    public private(set) var log: [SwitchStep] = []

    /// A backend over a client.
    public init(client: KubeClient) {
        self.client = client
    }

    /// Applies a function's Services (server-side apply; an unchanged template makes no new
    /// revision) and routes it to the first, its start variant.
    public func deploy(_ services: [KnativeService], function: String) async throws {
        for service in services { try await client.apply(service) }
        if routes[function] == nil, let first = services.first?.metadata.name { routes[function] = first }
    }

    /// The Service a function's requests go to.
    public func route(of function: String) -> String? { routes[function] }

    /// Moves `function` from Service `from` to Service `to`, warming `instances` pods of the
    /// target first; traffic moves only once they are ready. If the target does not become ready
    /// by `timeout`, its min-scale goes back to 0 and traffic stays.
    public func switchVariant(function: String, from: String, to: String, instances: Int, timeout: Duration = .seconds(300)) async throws {
        let target = try await client.service(to)
        let old = try await client.service(from)
        guard let targetRevision = target.status?.latestReadyRevisionName ?? target.status?.latestCreatedRevisionName else {
            throw KubeError(status: 0, reason: "NotReady", message: "\(to) has no revision yet (\(target.notReadyReason ?? "no status"))")
        }
        guard let oldRevision = old.status?.latestReadyRevisionName else {
            throw KubeError(status: 0, reason: "NotReady", message: "\(from) has no ready revision")
        }
        let deadline = ContinuousClock.now + timeout
        for step in SwitchStep.plan(targetService: to, targetRevision: targetRevision, oldRevision: oldRevision, instances: instances) {
            switch step {
            case .raiseMinScale(let revision, let n):
                try await client.setMinScale(revision: revision, to: n)
            case .observeReady(let revision, let n):
                do {
                    _ = try await client.waitForRevision(revision, until: deadline) { $0.isReady && ($0.status?.actualReplicas ?? 0) >= n }
                } catch {
                    _ = try? await client.setMinScale(revision: revision, to: 0)
                    throw error
                }
            case .shiftTraffic(let service):
                routes[function] = service
            case .lowerMinScale(let revision):
                try await client.setMinScale(revision: revision, to: 0)
            }
            log.append(step)
        }
    }
}
