import cupy as cp

def handle(payload, context):
    n = int(payload["n"])
    a = cp.random.rand(n, n, dtype=cp.float32)
    b = cp.random.rand(n, n, dtype=cp.float32)
    c = a @ b
    return {"sum": float(c.sum().get())}
