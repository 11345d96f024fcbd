import Foundation
import GaiaCore

/// When requests for one function arrive and how large each is.
public enum ArrivalProcess: Sendable, Hashable {
    /// Poisson arrivals at `rate` per second.
    case poisson(rate: Double)
    /// Bursty: Poisson at `rate` for `on` seconds, then nothing for `off` seconds, repeating.
    case onOff(rate: Double, on: Double, off: Double)
    /// Diurnal: Poisson with rate `mean × (1 + amplitude × sin(2πt / period))`.
    case diurnal(mean: Double, amplitude: Double, period: Double)
    /// Step: Poisson at `rates[i]` during the i-th period of `every` seconds (the last rate holds).
    case step(rates: [Double], every: Double)
    /// Per-minute counts (the Azure Functions 2019 trace): `counts[m]` requests spread uniformly at
    /// random over minute `m`.
    case perMinute(counts: [Int])
    /// A closed loop: one client sends `requests` requests one after another, each as soon as the
    /// previous answer arrives (the Gaia prototype's experiments).
    case closedLoop(requests: Int)

    /// Parses `poisson:rate=5`, `onoff:rate=20,on=60,off=240`, `diurnal:mean=5,amplitude=0.8,period=86400`,
    /// `step:rates=1/10/1,every=300`, `closed:requests=101`.
    public init(parsing text: String) throws {
        let (kind, rest) = text.split(separator: ":", maxSplits: 1).map(String.init).splitFirst()
        var values: [String: String] = [:]
        for pair in (rest ?? "").split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw SimulationError("'\(pair)' in '\(text)' is not key=value") }
            values[kv[0]] = kv[1]
        }
        func number(_ key: String, _ fallback: Double? = nil, range: ClosedRange<Double> = 0...1e9) throws -> Double {
            guard let raw = values[key] else {
                if let fallback { return fallback }
                throw SimulationError("\(kind) needs \(key)=… (in '\(text)')")
            }
            let seconds = raw.hasSuffix("s") ? String(raw.dropLast()) : raw
            guard let value = Double(seconds), value.isFinite, range.contains(value) else {
                throw SimulationError("\(key)=\(raw) in '\(text)' must be a number in \(range.lowerBound)…\(range.upperBound)")
            }
            return value
        }
        switch kind {
        case "poisson": self = .poisson(rate: try number("rate"))
        case "onoff": self = .onOff(rate: try number("rate"), on: try number("on", 60), off: try number("off", 240))
        case "diurnal":
            self = .diurnal(mean: try number("mean"), amplitude: try number("amplitude", 0.8, range: 0...1), period: try number("period", 86_400, range: 1...1e9))
        case "step":
            let rates = try (values["rates"] ?? "").split(separator: "/").map { part -> Double in
                guard let v = Double(part), v.isFinite, v >= 0, v <= 1e9 else { throw SimulationError("step rates must be numbers: '\(part)'") }
                return v
            }
            guard !rates.isEmpty else { throw SimulationError("step needs rates=r1/r2/… (in '\(text)')") }
            self = .step(rates: rates, every: try number("every", 300, range: 0.001...1e9))
        case "closed": self = .closedLoop(requests: Int(try number("requests", range: 1...1e8)))
        default:
            throw SimulationError("unknown trace '\(kind)': use poisson, onoff, diurnal, step or closed")
        }
    }

    /// The rate at time `t` (for the open processes).
    func rate(at t: Double) -> Double {
        switch self {
        case .poisson(let rate): rate
        case .onOff(let rate, let on, let off): t.truncatingRemainder(dividingBy: on + off) < on ? rate : 0
        case .diurnal(let mean, let amplitude, let period): max(0, mean * (1 + amplitude * sin(2 * .pi * t / period)))
        case .step(let rates, let every): rates[min(rates.count - 1, Int(min(t / every, 1e9)))]
        case .perMinute, .closedLoop: 0
        }
    }

    /// The highest rate it reaches (for thinning).
    var peakRate: Double {
        switch self {
        case .poisson(let rate), .onOff(let rate, _, _): rate
        case .diurnal(let mean, let amplitude, _): mean * (1 + amplitude)
        case .step(let rates, _): rates.max() ?? 0
        case .perMinute, .closedLoop: 0
        }
    }
}

/// The sizes of successive requests.
public enum PayloadSizes: Sendable, Hashable {
    /// Every request the same size.
    case fixed(Double)
    /// `from`, `from + step`, … up to `to`, then again from `from` (the prototype's matmul sequence).
    case ramp(from: Double, to: Double, step: Double)
    /// Uniform in `[low, high]`.
    case uniform(low: Double, high: Double)

    /// The size of request number `i`.
    func size(_ i: Int, random: inout SplitMix64) -> Double {
        switch self {
        case .fixed(let n): return n
        case .ramp(let from, let to, let step):
            let count = max(1, Int(((to - from) / max(step, 1e-9)).rounded(.down)) + 1)
            return from + Double(i % count) * step
        case .uniform(let low, let high): return random.uniform(low, high)
        }
    }
}

/// The next arrival of an open process after `t`, or nil when there is none before `end`: thinning
/// (Lewis–Shedler) of a Poisson process at the peak rate.
func nextArrival(_ process: ArrivalProcess, after t: Double, end: Double, random: inout SplitMix64) -> Double? {
    let peak = process.peakRate
    guard peak > 0 else { return nil }
    var time = t
    while true {
        time += -log(1 - random.nextUnit()) / peak
        if time >= end { return nil }
        if process.rate(at: time) >= peak || random.nextUnit() * peak < process.rate(at: time) { return time }
    }
}

/// A problem with a simulation's input.
public struct SimulationError: Error, CustomStringConvertible, Sendable {
    /// What was wrong.
    public let description: String
    /// An error.
    public init(_ description: String) { self.description = description }
}

extension Array where Element == String {
    fileprivate func splitFirst() -> (String, String?) { (self.first ?? "", count > 1 ? self[1] : nil) }
}

/// The Azure Functions 2019 trace format (Shahrad et al., "Serverless in the Wild", ATC'20):
/// `invocations_per_function_md.anon.d01.csv` (HashOwner, HashApp, HashFunction, Trigger, then
/// one column per minute "1"…"1440" with that minute's invocations) and
/// `function_durations_percentiles.anon.d01.csv` (HashOwner, HashApp, HashFunction, Average,
/// Count, Minimum, Maximum, percentile_Average_0, _1, _25, _50, _75, _99, _100; milliseconds).
public struct AzureTrace: Sendable {
    /// One function of the trace.
    public struct Function: Sendable, Hashable {
        /// `HashFunction` (with owner and app, unique).
        public var id: String
        /// The trigger (`http`, `timer`, `queue`…).
        public var trigger: String
        /// Invocations per minute.
        public var perMinute: [Int]
        /// Average duration in ms, from the durations file (nil when it has no row).
        public var averageMs: Double?
        /// Median duration in ms.
        public var medianMs: Double?
    }

    /// The functions, in file order.
    public var functions: [Function]

    /// Reads the invocation counts and, when given, the durations.
    public init(invocations: String, durations: String?) throws {
        let rows = Self.rows(invocations)
        guard let header = rows.first, header.count > 4, header[0] == "HashOwner", header[2] == "HashFunction" else {
            throw SimulationError("not an Azure invocations file: the header must start HashOwner,HashApp,HashFunction,Trigger,1,2,…")
        }
        var durationsByID: [String: (Double?, Double?)] = [:]
        if let durations {
            let drows = Self.rows(durations)
            guard let dh = drows.first, let avg = dh.firstIndex(of: "Average"), let p50 = dh.firstIndex(of: "percentile_Average_50") else {
                throw SimulationError("not an Azure durations file: the header needs Average and percentile_Average_50")
            }
            for row in drows.dropFirst() where row.count > max(avg, p50) {
                durationsByID[row[0] + "/" + row[1] + "/" + row[2]] = (Double(row[avg]), Double(row[p50]))
            }
        }
        functions = try rows.dropFirst().enumerated().map { index, row in
            guard row.count == header.count else {
                throw SimulationError("invocations file, row \(index + 2): \(row.count) columns, the header has \(header.count)")
            }
            let counts = try row.dropFirst(4).map { cell -> Int in
                guard let n = Int(cell), n >= 0, n <= 100_000_000 else { throw SimulationError("invocations file, row \(index + 2): '\(cell)' is not a count") }
                return n
            }
            let id = row[0] + "/" + row[1] + "/" + row[2]
            return Function(id: id, trigger: row[3], perMinute: counts, averageMs: durationsByID[id]?.0 ?? nil, medianMs: durationsByID[id]?.1 ?? nil)
        }
    }

    static func rows(_ text: String) -> [[String]] {
        text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
