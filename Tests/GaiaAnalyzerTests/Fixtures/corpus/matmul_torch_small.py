import torch

def handle(payload, context):
    x = torch.rand(32, 32)
    w = torch.rand(32, 32)
    y = x @ w
    return {"norm": y.norm().item()}
