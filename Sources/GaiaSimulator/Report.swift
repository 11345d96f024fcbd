import Foundation
import GaiaCore

/// The results of one scenario under several policies, and how to print them: a text table, CSV,
/// JSON, and SVG plots. Everything printed depends only on the simulation (no wall clock), so the
/// same seed prints the same bytes.
public struct SimulationReport: Sendable, Codable {
    /// What was simulated, in words.
    public var scenario: String
    /// The seed.
    public var seed: UInt64
    /// One result per policy, in the order asked.
    public var results: [SimulationResult]

    /// A report.
    public init(scenario: String, seed: UInt64, results: [SimulationResult]) {
        self.scenario = scenario
        self.seed = seed
        self.results = results
    }

    static func number(_ x: Double, _ decimals: Int = 1) -> String { String(format: "%.\(decimals)f", x) }

    static func money(_ x: Double) -> String { x >= 1 ? String(format: "%.2f", x) : String(format: "%.4g", x) }

    /// The table for people.
    public func text() -> String {
        let header = ["policy", "arrivals", "done", "rejected", "timed out", "SLO viol.", "p50 ms", "p95 ms", "p99 ms", "mean ms", "cold", "bill $", "provider $", "GPU-s", "switches"]
        var rows = [header]
        for r in results {
            rows.append([
                r.configuration.map { "\(r.policy) (\($0))" } ?? r.policy, String(r.arrivals), String(r.completed), String(r.rejected), String(r.timedOut),
                Self.number(r.violationRate * 100, 2) + "%", Self.number(r.p50Ms), Self.number(r.p95Ms), Self.number(r.p99Ms),
                Self.number(r.meanMs), String(r.coldStarts), Self.money(r.billUSD), Self.money(r.providerUSD), Self.number(r.gpuShareSeconds, 0),
                String(r.switches),
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        let lines = rows.map { row in
            row.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }
        return "\(scenario) (seed \(seed))\n" + lines.joined(separator: "\n") + "\n"
    }

    /// One line per policy.
    public func csv() -> String {
        var lines = ["policy,arrivals,completed,rejected,timed_out,slo_violations,violation_rate,p50_ms,p95_ms,p99_ms,mean_ms,cold_starts,bill_usd,provider_usd,instance_seconds,gpu_share_seconds,peak_gpu_percent,switches,simulated_seconds"]
        for r in results {
            lines.append([
                r.policy, String(r.arrivals), String(r.completed), String(r.rejected), String(r.timedOut), String(r.sloViolations),
                Self.number(r.violationRate, 6), Self.number(r.p50Ms, 3), Self.number(r.p95Ms, 3), Self.number(r.p99Ms, 3), Self.number(r.meanMs, 3),
                String(r.coldStarts), String(format: "%.8f", r.billUSD), String(format: "%.8f", r.providerUSD), Self.number(r.instanceSeconds, 3),
                Self.number(r.gpuShareSeconds, 3), String(r.peakGPUPercent), String(r.switches), Self.number(r.simulatedSeconds, 3),
            ].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Every recorded request of the first function, per policy, as CSV.
    public func requestsCSV() -> String {
        var lines = ["policy,index,size,arrival_s,latency_ms,rung,cold"]
        for r in results {
            for q in r.requestLog {
                lines.append("\(r.policy),\(q.index),\(Self.number(q.size, 0)),\(Self.number(q.arrival, 6)),\(Self.number(q.milliseconds, 3)),\(q.rung),\(q.cold)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Every action of the first function's controller, per policy that has one, as CSV (the
    /// reason quoted).
    public func decisionsCSV() -> String {
        var lines = ["policy,t_s,kind,from,to,reason"]
        for r in results {
            for d in r.decisionLog {
                let reason = "\"" + d.reason.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                lines.append("\(r.policy),\(Self.number(d.t, 3)),\(d.kind),\(d.from),\(d.to),\(reason)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The whole report as JSON (sorted keys).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// SVG plots: the first function's latency over time per policy with switch markers, its rung
    /// over time, and the bill and provider cost per policy. File name → SVG text.
    public func plots() -> [String: String] {
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
        var latency = SVGChart(title: "Latency over time (first function), mean per bucket", xLabel: "time (s)", yLabel: "latency (ms)")
        var rung = SVGChart(title: "Rung over time (first function)", xLabel: "time (s)", yLabel: "rung (0 = cpu-1; GPU rungs above the CPU rungs)")
        let rungNames = Array(Set(results.flatMap { $0.series.map(\.rung) })).sorted { a, b in
            switch (Backend(a), Backend(b)) {
            case (let x?, let y?) where x != y: x < y
            default: a < b
            }
        }
        for (index, r) in results.enumerated() {
            let colour = colours[index % colours.count]
            latency.add(r.policy, colour: colour, points: r.series.filter { $0.requests > 0 }.map { ($0.t, $0.meanMs) })
            latency.mark(r.switchMarks.map(\.t), colour: colour)
            rung.add(r.policy, colour: colour, points: r.series.map { ($0.t, Double(rungNames.firstIndex(of: $0.rung) ?? 0)) })
        }
        var cost = SVGBars(title: "Cost per policy (USD)", groups: results.map(\.policy), series: [("bill", "#1f77b4"), ("provider", "#ff7f0e")],
                           values: results.map { [$0.billUSD, $0.providerUSD] })
        cost.yLabel = "USD"
        return ["latency.svg": latency.render(), "rung.svg": rung.render(), "cost.svg": cost.render()]
    }
}

/// A small line chart written as SVG text.
struct SVGChart {
    var title: String
    var xLabel: String
    var yLabel: String
    var lines: [(label: String, colour: String, points: [(Double, Double)])] = []
    var marks: [(t: Double, colour: String)] = []

    init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    mutating func add(_ label: String, colour: String, points: [(Double, Double)]) { lines.append((label, colour, points)) }

    mutating func mark(_ times: [Double], colour: String) { marks += times.map { ($0, colour) } }

    func render() -> String {
        let (width, height, left, right, top, bottom) = (900.0, 460.0, 70.0, 180.0, 40.0, 50.0)
        let all = lines.flatMap(\.points)
        let xMax = max(all.map(\.0).max() ?? 1, 1e-9)
        let yMax = max(all.map(\.1).max() ?? 1, 1e-9)
        let x = { (v: Double) in left + v / xMax * (width - left - right) }
        let y = { (v: Double) in height - bottom - v / yMax * (height - top - bottom) }
        let f = { (v: Double) in String(format: "%.1f", v) }
        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(f(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>",
            "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))</text>",
            "<text x=\"16\" y=\"\(f(height / 2))\" transform=\"rotate(-90 16 \(f(height / 2)))\" text-anchor=\"middle\">\(escape(yLabel))</text>",
        ]
        for k in 0...5 {
            let vx = xMax * Double(k) / 5
            let vy = yMax * Double(k) / 5
            out.append("<line x1=\"\(f(left))\" y1=\"\(f(y(vy)))\" x2=\"\(f(width - right))\" y2=\"\(f(y(vy)))\" stroke=\"#ddd\"/>")
            out.append("<text x=\"\(f(left - 6))\" y=\"\(f(y(vy) + 4))\" text-anchor=\"end\">\(String(format: "%.0f", vy))</text>")
            out.append("<text x=\"\(f(x(vx)))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\">\(String(format: "%.0f", vx))</text>")
        }
        out.append("<line x1=\"\(f(left))\" y1=\"\(f(height - bottom))\" x2=\"\(f(width - right))\" y2=\"\(f(height - bottom))\" stroke=\"black\"/>")
        out.append("<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(height - bottom))\" stroke=\"black\"/>")
        for m in marks {
            out.append("<line x1=\"\(f(x(m.t)))\" y1=\"\(f(top))\" x2=\"\(f(x(m.t)))\" y2=\"\(f(height - bottom))\" stroke=\"\(m.colour)\" stroke-dasharray=\"3,3\"/>")
        }
        for (n, line) in lines.enumerated() {
            let points = line.points.map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " ")
            out.append("<polyline fill=\"none\" stroke=\"\(line.colour)\" stroke-width=\"1.5\" points=\"\(points)\"/>")
            let ly = top + 16 * Double(n)
            out.append("<line x1=\"\(f(width - right + 10))\" y1=\"\(f(ly))\" x2=\"\(f(width - right + 36))\" y2=\"\(f(ly))\" stroke=\"\(line.colour)\" stroke-width=\"2\"/>")
            out.append("<text x=\"\(f(width - right + 42))\" y=\"\(f(ly + 4))\">\(escape(line.label))</text>")
        }
        if !marks.isEmpty {
            out.append("<text x=\"\(f(width - right + 10))\" y=\"\(f(top + 16 * Double(lines.count) + 8))\">dashed: rung switches</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }
}

/// A grouped bar chart written as SVG text.
struct SVGBars {
    var title: String
    var groups: [String]
    var series: [(label: String, colour: String)]
    var values: [[Double]]
    var yLabel = ""

    func render() -> String {
        let (width, height, left, top, bottom) = (900.0, 400.0, 80.0, 40.0, 60.0)
        let yMax = max(values.flatMap { $0 }.max() ?? 1, 1e-12)
        let groupWidth = (width - left - 160) / Double(max(1, groups.count))
        let barWidth = groupWidth * 0.8 / Double(max(1, series.count))
        let f = { (v: Double) in String(format: "%.1f", v) }
        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(f(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>",
            "<line x1=\"\(f(left))\" y1=\"\(f(height - bottom))\" x2=\"\(f(width - 160))\" y2=\"\(f(height - bottom))\" stroke=\"black\"/>",
        ]
        for (g, group) in groups.enumerated() {
            let gx = left + Double(g) * groupWidth + groupWidth * 0.1
            for (s, entry) in series.enumerated() {
                let v = values[g][s]
                let h = v / yMax * (height - top - bottom)
                out.append("<rect x=\"\(f(gx + Double(s) * barWidth))\" y=\"\(f(height - bottom - h))\" width=\"\(f(barWidth * 0.95))\" height=\"\(f(h))\" fill=\"\(entry.colour)\"/>")
                out.append("<text x=\"\(f(gx + (Double(s) + 0.5) * barWidth))\" y=\"\(f(height - bottom - h - 4))\" text-anchor=\"middle\" font-size=\"10\">\(String(format: "%.3g", v))</text>")
            }
            out.append("<text x=\"\(f(gx + groupWidth * 0.4))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\">\(escape(group))</text>")
        }
        for (s, entry) in series.enumerated() {
            let ly = top + 16 * Double(s)
            out.append("<rect x=\"\(f(width - 150))\" y=\"\(f(ly - 8))\" width=\"12\" height=\"12\" fill=\"\(entry.colour)\"/>")
            out.append("<text x=\"\(f(width - 132))\" y=\"\(f(ly + 2))\">\(escape(entry.label)) \(escape(yLabel))</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }
}

private func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}
