/// One rung of the backend ladder: where an instance runs and how much of the machine it gets.
public enum Backend: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A CPU instance limited to `cores` cores (affinity and thread counts).
    case cpu(cores: Int)

    /// The rung's name: `cpu-2`.
    public var description: String {
        switch self {
        case .cpu(let cores): "cpu-\(cores)"
        }
    }

    /// Environment an instance on this rung runs with: BLAS/OpenMP thread counts equal to the cores,
    /// and no visible GPU.
    public var environment: [String: String] {
        switch self {
        case .cpu(let cores):
            let n = String(cores)
            return [
                "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n,
                "NUMEXPR_NUM_THREADS": n, "VECLIB_MAXIMUM_THREADS": n, "CUDA_VISIBLE_DEVICES": "",
            ]
        }
    }
}
