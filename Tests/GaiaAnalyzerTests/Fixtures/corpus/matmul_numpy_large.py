import numpy as np

SIZE = 4096

def init(context):
    np.show_config()

def handle(payload, context):
    n = int(payload.get("n", SIZE))
    a = np.random.standard_normal((n, n)).astype(np.float32)
    b = np.random.standard_normal((n, n)).astype(np.float32)
    c = np.matmul(a, b)
    return {"n": n, "sum": float(c.sum())}
