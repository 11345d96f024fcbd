# Modelled on the predictor classes of replicate/cog's examples (setup() keeps self.device).
import torch
import torchvision


class Predictor:
    def setup(self):
        self.device = "cuda"
        self.model = torchvision.models.resnet50(weights=None).to(self.device).eval()

    def predict(self, images):
        batch = torch.tensor(images, dtype=torch.float32).to(self.device)
        with torch.no_grad():
            return self.model(batch).argmax(dim=1).tolist()


predictor = Predictor()
predictor.setup()


def handle(payload, context):
    return predictor.predict(payload["images"])
