# Modelled on Ray Serve's image classification example (docs.ray.io, "Serving a Torch model"), on a GPU replica.
import torch
from ray import serve
from starlette.requests import Request
from torchvision.models import ResNet50_Weights, resnet50


@serve.deployment(ray_actor_options={"num_gpus": 1})
class ImageModel:
    def __init__(self):
        self.model = resnet50(weights=ResNet50_Weights.DEFAULT).eval().cuda()
        self.preprocess = ResNet50_Weights.DEFAULT.transforms()

    async def __call__(self, request: Request):
        batch = torch.rand((1, 3, 224, 224)).cuda()
        with torch.no_grad():
            return {"class_index": int(self.model(batch).argmax())}


app = ImageModel.bind()
