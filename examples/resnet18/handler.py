"""Image classification with ResNet-18 (torchvision), the vision workload of Gaia's evaluation.

The weights are random (`weights=None`): no model hub is reachable from Gaia's build machines, and
latency does not depend on the weights' values. For real predictions, load weights from local disk:
`model.load_state_dict(torch.load("/path/to/resnet18-f37072fd.pth"))` in `init` (the file
torchvision's `ResNet18_Weights.IMAGENET1K_V1` downloads).

Payload: {"batch": 1} classifies that many generated 224×224 RGB images, or
{"images": [[[...]]]} a batch of images as nested lists (N×3×224×224, or one 3×224×224 image),
already normalised. Returns the top class per image. Runs where `context.device` says: "cuda:0" on
a GPU rung, "cpu" elsewhere.

Needs `pip install torch torchvision`.
"""
import torch
import torchvision

model = None
device = "cpu"


def init(context):
    global model, device
    device = context.device
    model = torchvision.models.resnet18(weights=None).eval().to(device)


@torch.inference_mode()
def warmup(context):
    # cuDNN picks its convolution algorithms on the first pass; do it before traffic arrives.
    model(torch.zeros((1, 3, 224, 224), device=device))


@torch.inference_mode()
def handle(payload, context):
    payload = payload if isinstance(payload, dict) else {}
    if "images" in payload:
        images = torch.tensor(payload["images"], dtype=torch.float32)
        if images.dim() == 3:
            images = images.unsqueeze(0)
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, 224, 224):
            raise ValueError(f"images must be N×3×224×224 (or 3×224×224), got {tuple(images.shape)}")
    else:
        batch = int(payload.get("batch", 1))
        if not 1 <= batch <= 256:
            raise ValueError(f"batch must be between 1 and 256, got {batch}")
        generator = torch.Generator().manual_seed(batch)
        images = torch.rand((batch, 3, 224, 224), generator=generator)
    logits = model(images.to(device))
    return {"device": str(device), "classes": logits.argmax(dim=1).tolist()}
