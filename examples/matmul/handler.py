"""Matrix multiplication: the compute-bound workload of Gaia's evaluation.

The payload may set the matrix size: {"n": 512}. Runs on whatever numpy has (CPU BLAS here).
"""
import time

import numpy as np

DEFAULT_N = 1024


def init(context):
    # Warm the BLAS threads once so the first invocation does not pay for it.
    a = np.ones((64, 64), dtype=np.float32)
    a @ a


def handle(payload, context):
    n = int(payload.get("n", DEFAULT_N)) if isinstance(payload, dict) else DEFAULT_N
    if not 1 <= n <= 8192:
        raise ValueError(f"n must be between 1 and 8192, got {n}")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    start = time.perf_counter()
    c = a @ b
    elapsed = time.perf_counter() - start
    return {"n": n, "checksum": float(c[0, 0]), "matmul_ms": round(elapsed * 1000, 3)}
