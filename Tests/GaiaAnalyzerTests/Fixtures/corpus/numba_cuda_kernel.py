import numpy as np
from numba import cuda

@cuda.jit
def add_kernel(x, y, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = x[i] + y[i]

def handle(payload, context):
    x = np.asarray(payload["x"], dtype=np.float32)
    y = np.asarray(payload["y"], dtype=np.float32)
    out = np.zeros_like(x)
    add_kernel[(x.size + 255) // 256, 256](x, y, out)
    return out.tolist()
