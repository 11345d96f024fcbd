import torch

MODEL_PATH = "resnet18_traced.pt"
net = torch.jit.load(MODEL_PATH, map_location="cpu")

def handle(payload, context):
    x = torch.as_tensor(payload["batch"], dtype=torch.float32)
    with torch.no_grad():
        scores = net(x)
    return scores.argmax(dim=1).tolist()
