import io

import torch
from PIL import Image
from torchvision import models, transforms

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = None
preprocess = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])

def init(context):
    global model
    model = models.resnet18(weights=models.ResNet18_Weights.DEFAULT).to(device).eval()

def handle(payload, context):
    image = Image.open(io.BytesIO(payload)).convert("RGB")
    batch = preprocess(image).unsqueeze(0).to(device)
    with torch.no_grad():
        logits = model(batch)
    top = torch.topk(logits.softmax(dim=1), 5)
    return {"classes": top.indices[0].tolist(), "scores": top.values[0].tolist()}
