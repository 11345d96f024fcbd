import numpy as np
import torch

model = torch.hub.load("mateuszbuda/brain-segmentation-pytorch", "unet", in_channels=3, out_channels=1, pretrained=True)
model.eval()

def handle(payload, context):
    volume = torch.from_numpy(np.asarray(payload["slice"], dtype=np.float32)).unsqueeze(0)
    with torch.no_grad():
        mask = torch.sigmoid(model(volume))[0, 0] > 0.5
    return mask.numpy().astype(np.uint8).tolist()
