"""Matrix multiplication in PyTorch: the compute-bound workload of Gaia's evaluation, on any rung.

Payload: {"n": 2000} multiplies two random n×n float32 matrices (n from 0 to 20,000, as the Gaia
prototype's experiment grows it in steps of 200); the matrices are made on the device, so the time
is the multiplication's, not a host-to-device copy's. Written the usual hardware-agnostic way: it
runs on the GPU when the instance sees one (a GPU rung) and on the CPU otherwise.

Needs `pip install torch`. Memory: three n×n float32 matrices (4.8 GB at n = 20,000); on CPU rungs
raise `memory_limit_mb` (gaia serve's per-instance address-space cap, 4,096 MB by default) for n
over about 15,000.
"""
import time

import torch

device = None
MAX_N = 20_000


def init(context):
    global device
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def warmup(context):
    # Creates the CUDA context and loads cuBLAS before the first request (about a second on a GPU).
    a = torch.ones((256, 256), device=device)
    (a @ a).sum().item()


def handle(payload, context):
    n = int(payload.get("n", 2000)) if isinstance(payload, dict) else 2000
    if not 0 <= n <= MAX_N:
        raise ValueError(f"n must be between 0 and {MAX_N}, got {n}")
    if n == 0:
        return {"n": 0, "device": str(device), "matmul_ms": 0.0}
    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn((n, n), device=device, generator=generator)
    b = torch.randn((n, n), device=device, generator=generator)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    c = a @ b
    checksum = float(c[0, 0])  # waits for the multiplication, on any device
    elapsed = time.perf_counter() - start
    return {"n": n, "device": str(device), "checksum": checksum, "matmul_ms": round(elapsed * 1000, 3)}
