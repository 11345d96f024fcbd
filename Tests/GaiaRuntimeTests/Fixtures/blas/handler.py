"""Reports the instance's cores and its BLAS thread count, read back through OpenBLAS's C API."""
import ctypes
import os

import numpy as np


def blas_threads():
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
    for path in paths:
        library = ctypes.CDLL(path)
        for symbol in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                       "openblas_get_num_threads64_", "openblas_get_num_threads"):
            if hasattr(library, symbol):
                return getattr(library, symbol)()
    return None


def handle(payload, context):
    a = np.ones((64, 64))
    a @ a
    return {"cpus": sorted(os.sched_getaffinity(0)), "blas_threads": blas_threads(), "backend": context.backend,
            "pid": os.getpid()}
