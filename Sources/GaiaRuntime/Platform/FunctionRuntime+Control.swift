import Foundation
import GaiaCore
import GaiaAnalyzer
import GaiaStore
import Logging
import PythonSyntax

/// The control tick and what it carries out: scaling, rung switches, draining.
extension FunctionRuntime {
    // MARK: Control

    /// One control step: feed each function's controller what finished since the last tick and
    /// what its pool holds now, carry out the actions it returns (recording each as done or
    /// failed, with the deciding rule's reason), count instance time, and store pending records.
    public func tick(at now: ContinuousClock.Instant = .now) async {
        if logsSweptAt.map({ now - $0 >= .seconds(10) }) ?? true {
            logsSweptAt = now
            let rotation = configuration.logRotation
            let logs = "\(configuration.dataDirectory)/logs"
            Task.detached(priority: .background) { rotation.sweep(logs) }
        }
        let samples = pendingSamples
        pendingSamples = []
        for sample in samples {
            live[sample.function]?.controller.invocationFinished(
                arrived: sample.at, milliseconds: sample.milliseconds, serviceMilliseconds: sample.serviceMilliseconds, on: sample.backend,
                warmAndSuccessful: sample.counts, batch: sample.batch)
        }
        var usage: [(function: String, backend: String, instanceSeconds: Double, costUSD: Double)] = []
        var decided: [(name: String, pool: any FunctionPool, current: Int, needs: Int, kept: Int, actions: [RuntimeAction], switching: Bool)] = []
        for name in live.keys.sorted() {
            guard var f = live[name] else { continue }
            let concurrency = await f.pool.concurrency
            let current = await f.pool.instanceCount
            let refused = await (f.pool as? InstancePool)?.takeRefusedStarts() ?? 0
            // The awaits above may have let a deploy, removal or switch replace this function's
            // pool: act only on the pool that was measured.
            guard let still = live[name], still.pool === f.pool else { continue }
            f = still
            if now > f.usageCountedTo {
                let elapsed = (now - f.usageCountedTo).inMilliseconds / 1000
                let seconds = elapsed * Double(current)
                if seconds > 0 {
                    usage.append((name, f.backend.description, seconds, configuration.prices.cost(seconds: seconds, on: f.backend)))
                }
                f.idleInstanceSeconds += elapsed * max(0, Double(current) - concurrency)
                f.usageCountedTo = now
            }
            f.instances = current
            guard !f.switching else {
                // Its switch holds what it runs now, and its controller waits for the outcome.
                live[name] = f
                decided.append((name, f.pool, current, current, 0, [], true))
                continue
            }
            let observation = FunctionObservation(requestsInPool: concurrency, instances: current, deviceRoom: deviceRoom(for: name, on: f.backend))
            let actions = f.controller.evaluate(at: now, observing: observation)
            live[name] = f
            if let batcher = f.pool.batcher, let maxBatch = f.stored.manifest.maxBatch {
                // The batch former's service times per batch size, from the predictor.
                let predictor = f.controller.predictor
                let expected = (1...maxBatch).compactMap { k in predictor.serviceMs(on: f.backend, batch: k).map { (k, $0) } }
                await batcher.update(serviceMs: Dictionary(uniqueKeysWithValues: expected), budgetMs: f.controller.mode.slo.thresholdMs)
            }
            // What it wants: the controller's target, one more than it has if starts were refused.
            // Its minimum scale, and what its load asks for, it needs; beyond that, an idle function
            // keeps instances for its keep-alive, which yield to others' needs.
            let target = actions.lazy.compactMap { if case .scale(_, let to, _) = $0 { to } else { nil } }.first ?? current
            let wants = max(target, refused > 0 ? current + 1 : 0)
            let needs = concurrency > 0 || refused > 0 ? wants : min(wants, f.controller.autoscaler.settings.scaleBounds.lowerBound)
            decided.append((name, f.pool, current, needs, wants - needs, actions, false))
        }
        if let slots {
            // The functions together may want more instances than the machine holds: each gets a
            // fair share of it (`InstanceCapacity.share`), the rest of its want waits for room. A
            // deploy waiting for room for its first instance needs one.
            let needs = decided.map(\.needs) + waitingForRoom.map { _ in 1 }
            let kept = decided.map(\.kept) + waitingForRoom.map { _ in 0 }
            let wants = zip(needs, kept).map { $0 + $1 }
            if wants.reduce(0, +) > slots.capacity.instances {
                let grants = slots.capacity.share(needs: needs, kept: kept)
                for i in decided.indices where grants[i] < wants[i] && !decided[i].switching {
                    let d = decided[i]
                    var actions = d.actions.filter { if case .scale = $0 { false } else { true } }
                    if grants[i] != d.current {
                        actions.insert(.scale(
                            from: d.current, to: grants[i],
                            reason: "wants \(wants[i]) instances; the machine runs at most \(slots.capacity), and its fair share among the functions that want them is \(grants[i])"),
                            at: 0)
                    }
                    decided[i].actions = actions
                }
            }
        }
        for d in decided {
            for action in d.actions {
                guard live[d.name]?.pool === d.pool, live[d.name]?.switching == false else { break }
                switch action {
                case .scale(let from, let to, let reason):
                    // Counted by the pool at once; the starts are waited for apart.
                    let scaling = await d.pool.beginScaling(to: to)
                    carryOut { await self.recordScaling(d.name, scaling, from: from, to: to, reason: reason) }
                case .switchRung(let rungSwitch):
                    live[d.name]?.switching = true
                    carryOut { await self.switchRung(d.name, rungSwitch, at: now) }
                }
            }
        }
        try? database.addUsage(usage)
        await flushRecords()
    }

    /// Runs `work` (a control action being carried out) as a task of its own, kept until it ends.
    func carryOut(_ work: @escaping @Sendable () async -> Void) {
        nextCarryingOut += 1
        let key = nextCarryingOut
        carryingOut[key] = Task {
            await work()
            self.carryingOut.removeValue(forKey: key)
        }
    }

    /// Returns once the control actions begun so far (and any they begin) are carried out: the
    /// starts of a scaling, a switch's warm-up. (Tests read a tick's outcome after it; a shutdown
    /// waits for them once it has stopped what they wait on.)
    public func actionsCarriedOut() async {
        while let (_, task) = carryingOut.first {
            await task.value
        }
    }

    /// Percent of the GPU of `backend` that function `name` may hold: 100 less what the other
    /// functions' instances there hold (SM × quota each, a whole GPU 100); 100 off GPUs.
    func deviceRoom(for name: String, on backend: Backend) -> Double {
        // On a cluster every pod of a GPU variant has a GPU of its own.
        guard configuration.cluster == nil, case .gpu(let device, _, _) = backend else { return 100 }
        var used = 0.0
        for (other, f) in live where other != name {
            if case .gpu(device, let sm, let quota) = f.backend { used += Double(f.instances * sm * quota) / 100 }
        }
        return max(0, 100 - used)
    }

    /// Records what a scaling really did once its starts have ended: done, or failed with the error.
    func recordScaling(_ name: String, _ scaling: Task<Void, any Error>, from: Int, to: Int, reason: String) async {
        do {
            try await scaling.value
            try? database.record(DecisionRecord(
                function: name, at: Date(), kind: "scale", from: "\(from) instances", to: "\(to) instances", reason: reason))
        } catch {
            logger.warning("scaling failed", metadata: ["function.name": "\(name)", "to": "\(to)", "error": "\(error)"])
            try? database.record(DecisionRecord(
                function: name, at: Date(), kind: "scale_failed", from: "\(from) instances", to: "\(to) instances",
                reason: "\(reason); the scaling failed: \(error)"))
        }
    }

    /// Moves a function to another rung without exposing a cold start: in place when only the time
    /// quota changes (the quota scheduler takes the new one at the next invocation) or when both
    /// rungs are CPU rungs (vertical scaling), else by starting as many instances on the target rung as run
    /// now, moving traffic once they are ready, and draining the old ones.
    func switchRung(_ name: String, _ decision: RungSwitch, at now: ContinuousClock.Instant) async {
        defer { live[name]?.switching = false }  // its controller is asked again from the next tick
        guard let f = live[name] else { return }
        let started = ContinuousClock.now
        let how: String
        do {
            if decision.from.wholeTime == decision.to.wholeTime {
                await f.pool.changeQuota(to: decision.to)
                guard live[name]?.pool === f.pool else { return }
                live[name]!.backend = decision.to
                how = "time quota changed in place"
            } else if configuration.verticalScaling && decision.from.deviceClass == .cpu && decision.to.deviceClass == .cpu {
                try await f.pool.resize(to: decision.to)
                guard live[name]?.pool === f.pool else { return }
                live[name]!.backend = decision.to
                how = "resized in place"
            } else {
                let instances = await f.pool.instanceCount
                let next = makePool(f.stored, on: decision.to)
                warming[ObjectIdentifier(next)] = next
                defer { warming.removeValue(forKey: ObjectIdentifier(next)) }
                do {
                    try await next.scale(to: instances)
                } catch {
                    await next.shutdown()
                    throw error
                }
                guard !closed, live[name]?.pool === f.pool else {
                    await next.shutdown()
                    return
                }
                live[name]!.pool = next
                live[name]!.backend = decision.to
                retire(f.pool)
                how = "\(instances) instance(s) warmed on \(decision.to) before traffic moved"
            }
        } catch {
            guard !closed else { return }  // stopped by a shutdown: no failure of the rung
            live[name]?.controller.switchFailed(decision, reason: Self.shortReason(error), at: now)
            logger.warning("rung switch failed", metadata: ["function.name": "\(name)", "to": "\(decision.to)", "error": "\(error)"])
            try? database.record(DecisionRecord(
                function: name, at: Date(), kind: "switch_failed", from: decision.from.description, to: decision.to.description,
                reason: "\(decision.reason); the switch failed: \(error)", measuredMs: decision.measuredMs, predictedMs: decision.predictedMs))
            return
        }
        live[name]!.controller.switched(decision, at: now)
        let took = (ContinuousClock.now - started).inMilliseconds
        logger.info(
            "\(decision.direction.rawValue) \(decision.from) -> \(decision.to)",
            metadata: ["function.name": "\(name)", "reason": "\(decision.reason)", "switch.ms": "\(took)"])
        try? database.record(DecisionRecord(
            function: name, at: Date(), kind: decision.direction.rawValue, from: decision.from.description, to: decision.to.description,
            reason: "\(decision.reason) (\(how))", measuredMs: decision.measuredMs, predictedMs: decision.predictedMs, tookMs: took))
    }

    /// An error's first line, for a failed rung's reason.
    static func shortReason(_ error: any Error) -> String {
        let text = (error as? WorkerError)?.description ?? "\(error)"
        return String(text.split(separator: "\n").first ?? "failed").prefix(300).description
    }

    /// Lets a pool that no longer gets traffic finish its requests, then stop (`shutdown()` stops
    /// it at once if it is still draining then).
    func retire(_ pool: any FunctionPool) {
        draining[ObjectIdentifier(pool)] = pool
        Task {
            await pool.drain()
            self.drained(pool)
        }
    }

    func drained(_ pool: any FunctionPool) {
        draining.removeValue(forKey: ObjectIdentifier(pool))
        if draining.isEmpty { Task { await self.collectEnvironments() } }
    }
}
