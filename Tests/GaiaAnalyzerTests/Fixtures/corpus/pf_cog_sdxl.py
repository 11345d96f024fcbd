# Modelled on replicate/cog-sdxl (predict.py): a Cog predictor loading SDXL onto CUDA in setup().
import torch
from cog import BasePredictor, Input, Path
from diffusers import StableDiffusionXLPipeline


class Predictor(BasePredictor):
    def setup(self):
        self.pipe = StableDiffusionXLPipeline.from_pretrained(
            "stabilityai/stable-diffusion-xl-base-1.0", torch_dtype=torch.float16, variant="fp16"
        )
        self.pipe.to("cuda")

    def predict(self, prompt: str = Input(description="Input prompt"), steps: int = Input(default=30)) -> Path:
        image = self.pipe(prompt=prompt, num_inference_steps=steps).images[0]
        image.save("/tmp/out.png")
        return Path("/tmp/out.png")
