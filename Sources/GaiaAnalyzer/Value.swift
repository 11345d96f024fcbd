/// What the analyzer knows a name or expression stands for, by simple constant propagation.
indirect enum Value: Sendable {
    /// A module or something imported from one, by qualified name ("torch.nn.Linear").
    case module(String)
    case number(Double)
    case string(String)
    case bool(Bool)
    case none
    case tuple([Value])
    /// An array or tensor of a framework, with its shape where known.
    case tensor(framework: String, shape: [Double]?)
    /// A loaded or constructed model.
    case model(ModelInfo, framework: String)
    /// A model class defined in the function (a subclass of `torch.nn.Module`, `keras.Model`…).
    case modelClass(ModelInfo, framework: String)
    /// A device choice.
    case device(DeviceKind)
    case unknown

    /// The device this value names, if it names one ("cuda:0", "/GPU:0", "cpu", a torch.device…).
    var deviceKind: DeviceKind? {
        switch self {
        case .device(let kind): return kind
        case .string(let s):
            let lower = s.lowercased()
            if lower.hasPrefix("cuda") || lower.hasPrefix("gpu") || lower.hasPrefix("/gpu")
                || lower.hasPrefix("/device:gpu") || lower == "mps"
            {
                return .gpu
            }
            if lower.hasPrefix("cpu") || lower.hasPrefix("/cpu") { return .cpu }
            if lower == "auto" { return .optional }
            return nil
        default: return nil
        }
    }

    /// Python truthiness, where the value is known.
    var truthiness: Bool? {
        switch self {
        case .bool(let b): return b
        case .none: return false
        case .number(let n): return n != 0
        case .string(let s): return !s.isEmpty
        case .tuple(let items): return !items.isEmpty
        default: return nil
        }
    }

    var number: Double? {
        switch self {
        case .number(let n): return n
        case .bool(let b): return b ? 1 : 0
        case .string(let s): return Double(s)
        default: return nil
        }
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A shape spelled as numbers: `(N, N)`, `[3, 224, 224]` or a single `N`.
    var shape: [Double]? {
        switch self {
        case .number(let n): return [n]
        case .tuple(let items):
            let numbers = items.compactMap(\.number)
            return numbers.count == items.count && !items.isEmpty ? numbers : nil
        default: return nil
        }
    }
}

/// Where a device expression sends work.
enum DeviceKind: Sendable {
    case gpu
    case cpu
    /// A GPU when one is available, else the CPU.
    case optional
}

/// Formats a count for people: 4096 → "4.1K", 16777216 → "16.8M", 1.1e9 → "1.1B".
public func humanCount(_ value: Double) -> String {
    switch value {
    case 1e12...: return trimmed(value / 1e12) + "T"
    case 1e9...: return trimmed(value / 1e9) + "B"
    case 1e6...: return trimmed(value / 1e6) + "M"
    case 1e4...: return trimmed(value / 1e3) + "K"
    default: return trimmed(value)
    }
}

private func trimmed(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
}
