import numba
import numpy as np

@numba.njit(cache=True)
def pairwise(points):
    n = points.shape[0]
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = np.sqrt(((points[i] - points[j]) ** 2).sum())
    return out

def handle(payload, context):
    return pairwise(np.asarray(payload["points"], dtype=np.float64)).tolist()
