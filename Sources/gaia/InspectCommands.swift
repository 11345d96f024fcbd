import ArgumentParser
import AsyncHTTPClient
import Foundation
import GaiaAPI
import GaiaAnalyzer
import GaiaCore
import GaiaRuntime
import MultipartKit
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Yams

/// `gaia ls`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List deployed functions.")
    @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let list = try await server.get("/v1/functions", as: FunctionList.self)
        guard try !output.print(list) else { return }
        if list.functions.isEmpty {
            print("no functions deployed; deploy one with `gaia deploy PATH`")
            return
        }
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count + 1), withPad: " ", startingAt: 0) }
        print(pad("NAME", 24) + pad("REVISION", 10) + pad("MODE", 16) + pad("RUNG", 10) + "INSTANCES")
        for f in list.functions {
            print(pad(f.name, 24) + pad(String(f.revision), 10) + pad(f.mode.rawValue, 16) + pad(f.backend, 10) + String(f.instances))
        }
    }
}

/// What `gaia describe -o json|yaml` prints: the function and its cost, as the API sends them.
struct DescribeOutput: Codable {
    var function: FunctionDescription
    var cost: CostReport
}

/// `gaia describe N`.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe", abstract: "Show a function's rung, ladder, invocations, cost and decision history.")
    @Argument(help: "The function's name.") var name: String
    @Option(name: .shortAndLong, help: "text (a summary), json or yaml (the API's description and cost, manifest included).")
    var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let f = try await server.get("/v1/functions/\(name)", as: FunctionDescription.self)
        let cost = try await server.get("/v1/functions/\(name)/cost", as: CostReport.self)
        if try !output.print(DescribeOutput(function: f, cost: cost)) { print(Self.summary(f, cost: cost)) }
    }

    /// The readable summary of a function's description and cost.
    static func summary(_ f: FunctionDescription, cost: CostReport) -> String {
        func usd(_ x: Double) -> String { Dollars.text(x) }
        func ms(_ x: Double) -> String { String(format: "%.1f ms", x) }
        let r = f.rung
        var lines = [
            "\(f.name)  revision \(f.revision)  mode \(f.manifest.mode.rawValue)  instances \(f.instances)",
            "rung:     \(r.current) (starts on \(r.start))  slo \(r.slo)",
        ]
        let ladder = r.ladder.map { rung -> String in
            if let failed = rung.failed { return "\(rung.backend) failed to start (\(failed))" }
            guard let predicted = rung.predictedMs else { return "\(rung.backend) not yet known" }
            return rung.measured ? "\(rung.backend) \(ms(predicted)) measured" : "\(rung.backend) ~\(ms(predicted)) predicted"
        }
        lines.append("ladder:   " + ladder.joined(separator: ", "))
        if let timeout = f.manifest.timeoutSeconds { lines.append("timeout:  \(timeout.formatted()) s per invocation") }
        if let environment = f.manifest.environment, !environment.isEmpty {
            lines.append("env:      " + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        if let secrets = f.manifest.secrets, !secrets.isEmpty {
            lines.append("secrets:  " + secrets.map { "\($0) (set)" }.joined(separator: ", "))
        }
        lines.append(
            "          (the SLO statistic on each rung: measured once it served \(ModeControllerSettings().minSamples)+ requests, else predicted "
                + "by Amdahl's law with \(Int((r.parallelFraction * 100).rounded()))% of the work parallel, "
                + (r.fitted ? "fitted from two measured rungs)" : "the analyzer's estimate until two rungs are measured)"))
        if r.predictorErrorPercent != nil || (r.demandForecast ?? 0) > 0 {
            lines.append(
                "predictor: " + (r.predictorErrorPercent.map { String(format: "%.1f%% error on held-out recent invocations", $0) } ?? "too few invocations to measure its error")
                    + String(format: "; planned for %.2f req/s", r.demandForecast ?? 0))
        }
        lines.append(
            "usage:    \(cost.invocations) invocations, billed \(usd(cost.billedUSD)) (\(usd(cost.billedPer1000USD)) per 1,000); "
                + String(format: "%.1f", cost.instanceSeconds) + " instance-seconds, provider cost \(usd(cost.providerCostUSD))")
        for b in cost.byBackend {
            lines.append(
                "  \(b.backend): \(b.invocations) invocations, mean \(ms(b.meanMs)), billed \(usd(b.billedUSD)), "
                    + String(format: "%.1f", b.instanceSeconds) + " instance-s, provider \(usd(b.providerCostUSD))")
        }
        lines.append(f.decisions.isEmpty ? "decisions: none" : "decisions (latest \(f.decisions.count), oldest first):")
        for d in f.decisions {
            var figures = ""
            if let m = d.measuredMs { figures += " measured \(ms(m))" }
            if let p = d.predictedMs { figures += " predicted \(ms(p))" }
            if let t = d.tookMs { figures += " (switched in \(ms(t)))" }
            lines.append("  \(d.at.formatted(.iso8601))  \(d.kind)  \(d.from) -> \(d.to)\(figures)  \(d.reason)")
        }
        return lines.joined(separator: "\n")
    }
}

/// `gaia invocations N`.
struct InvocationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invocations", abstract: "A function's latest invocations, or one invocation by its id.",
        subcommands: [InvocationsListCommand.self, InvocationGetCommand.self], defaultSubcommand: InvocationsListCommand.self)
}

/// `gaia invocations get ID`: an invocation by its id (`Gaia-Invocation-Id`, or what `gaia invoke
/// --async` printed): an asynchronous one's state and outcome, a synchronous one's record.
struct InvocationGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Show an invocation by its id: an asynchronous one's state and, once finished, its result (gaia invoke --async); a synchronous one's record (its Gaia-Invocation-Id).")
    @Argument(help: "The invocation's id (inv_…).") var id: String
    @Flag(help: "Wait until it has finished (the command then fails if the invocation did).") var wait = false
    @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    func run() async throws {
        var invocation = try await server.get("/v1/invocations/\(id)", as: AsyncInvocation.self)
        while wait && (invocation.state == "queued" || invocation.state == "running") {
            try await Task.sleep(for: .milliseconds(250))
            invocation = try await server.get("/v1/invocations/\(id)", as: AsyncInvocation.self)
        }
        if try !output.print(invocation) {
            print("\(invocation.id)  \(invocation.function)  \(invocation.state)  attempts \(invocation.attempts)" + (invocation.status.map { "  status \($0)" } ?? ""))
            if invocation.synchronous == true {
                print("synchronous, on \(invocation.backend ?? "?")" + (invocation.durationMs.map { String(format: " in %.1f ms", $0) } ?? "")
                    + (invocation.coldStart == true ? " (cold start)" : "") + "; its result went to its caller")
            }
            if let error = invocation.error { print("error: \(error)") }
            if let result = invocation.result { print(invocation.resultEncoding == "base64" ? "result (base64): \(result)" : result) }
        }
        // A failed invocation fails the command too (after printing it), so that scripts can tell.
        if invocation.state == "failed" { throw ExitCode.failure }
    }
}

/// `gaia invocations NAME`: a function's latest invocations.
struct InvocationsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List a function's latest invocations, newest first.")
    @Argument(help: "The function's name.") var name: String
    @Option(help: "How many (1 to 10,000).") var limit = 20
    @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let list = try await server.get("/v1/functions/\(name)/invocations?limit=\(limit)", as: InvocationList.self)
        guard try !output.print(list) else { return }
        let running = list.inFlight ?? []
        if list.invocations.isEmpty && running.isEmpty {
            print("no invocations of \(name) yet; try `gaia invoke \(name)`")
            return
        }
        print("ID                            AT                    REV  RUNG      STATUS  COLD  DURATION    QUEUE       COST")
        for r in running {  // not recorded yet: no status, queue or cost until they end
            print(r.id.padding(toLength: 30, withPad: " ", startingAt: 0) + r.at.formatted(.iso8601).padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(r.revision).padding(toLength: 5, withPad: " ", startingAt: 0) + r.backend.padding(toLength: 10, withPad: " ", startingAt: 0)
                + "running".padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%9.1f ms so far", r.elapsedMs))
        }
        for i in list.invocations {
            let cells = [
                (i.id ?? "-").padding(toLength: 30, withPad: " ", startingAt: 0),
                i.at.formatted(.iso8601).padding(toLength: 22, withPad: " ", startingAt: 0),
                String(i.revision).padding(toLength: 5, withPad: " ", startingAt: 0),
                i.backend.padding(toLength: 10, withPad: " ", startingAt: 0),
                String(i.status).padding(toLength: 8, withPad: " ", startingAt: 0),
                (i.coldStart ? "yes" : "no").padding(toLength: 6, withPad: " ", startingAt: 0),
                String(format: "%9.1f ms  %7.1f ms  ", i.durationMs, i.queueMs) + Dollars.text(i.costUSD),
            ]
            print(cells.joined())
        }
    }
}

/// What `gaia logs -o json|yaml` prints.
struct LogsOutput: Codable {
    var function: String
    var logs: String
}

/// `gaia logs N`.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a function's instance logs.",
        discussion: """
            Each line begins with its time (UTC). Without --since or --follow, the end of each instance's log of the \
            current revision, one after the other. With --since, the lines from then on of every instance and of the \
            platform's notes (failed invocations), merged in time order, each naming its source (i3, gaia). \
            --follow prints new lines as they come, until interrupted.
            """)
    @Argument(help: "The function's name.") var name: String
    @Option(help: "Only lines from this time on: a duration ago (30s, 10m, 2h, 1d) or an ISO 8601 time (2026-12-07T23:40:01Z).")
    var since: String?
    @Flag(name: .shortAndLong, help: "Keep printing new lines as they come (poll each second) until interrupted.") var follow = false
    @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
    @OptionGroup var server: ServerOptions

    /// `--since`: a duration before `now` or an ISO 8601 time, as the server's stamp.
    static func stamp(since text: String, now: Date = Date()) throws -> String {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last.flatMap({ units[$0] }), let amount = Double(text.dropLast()), amount >= 0, amount.isFinite {
            return LogLines.stamp(now.addingTimeInterval(-amount * unit))
        }
        guard let stamp = LogLines.stamp(parsing: text) else {
            throw CLIError(description: "--since: give a duration (30s, 10m, 2h, 1d) or an ISO 8601 time (2026-12-07T23:40:01Z), not '\(text)'")
        }
        return stamp
    }

    func run() async throws {
        var since = try since.map { try Self.stamp(since: $0) }
        if follow { since = since ?? "1970-01-01T00:00:00.000Z" }
        func fetch(_ since: String?) async throws -> String {
            let query = since.map { "?since=" + $0 } ?? ""
            return String(decoding: try await server.send(.GET, "/v1/functions/\(name)/logs\(query)").body, as: UTF8.self)
        }
        guard follow else {
            let text = try await fetch(since)
            if try !output.print(LogsOutput(function: name, logs: text)) { print(text, terminator: text.hasSuffix("\n") ? "" : "\n") }
            return
        }
        // Each poll asks from the newest stamp printed, inclusive; lines already printed at that
        // stamp are not printed again.
        var newest = since ?? ""
        var printedAtNewest: Set<Substring> = []
        while !Task.isCancelled {
            for line in try await fetch(newest).split(separator: "\n") {
                let stamp = String(line.prefix(24))
                if stamp == newest && printedAtNewest.contains(line) { continue }
                FileHandle.standardOutput.write(Data((line + "\n").utf8))  // unbuffered: seen as it comes
                if stamp > newest { newest = stamp; printedAtNewest = [] }
                printedAtNewest.insert(line)
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
}

/// `gaia rm N`.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a function (its history stays).")
    @Argument(help: "The function's name.") var name: String
    @OptionGroup var server: ServerOptions

    func run() async throws {
        _ = try await server.send(.DELETE, "/v1/functions/\(name)")
        print("removed \(name)")
    }
}
