import numpy as np

try:
    import torch
    import torchvision
except ImportError:
    torch = None

def handle(payload, context):
    pixels = np.asarray(payload["pixels"], dtype=np.float32)
    if torch is None:
        return {"label": int(pixels.mean() > 0.5)}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    net = torchvision.models.resnet50(weights="DEFAULT").to(device).eval()
    with torch.no_grad():
        out = net(torch.from_numpy(pixels).to(device))
    return {"label": int(out.argmax())}
