import torch

DEFAULT_SIZE = 2048

def handle(payload, context):
    n = int(payload.get("size", DEFAULT_SIZE)) if isinstance(payload, dict) else DEFAULT_SIZE
    x = torch.randn(n, n)
    return {"det": torch.linalg.det(x @ x.T).item()}
