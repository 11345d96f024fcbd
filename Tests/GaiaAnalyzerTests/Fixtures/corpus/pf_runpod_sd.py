# Modelled on runpod-workers/worker-sdxl (src/handler.py): a diffusers pipeline on CUDA behind runpod.serverless.start.
import base64
import io

import runpod
import torch
from diffusers import StableDiffusionPipeline

pipe = StableDiffusionPipeline.from_pretrained("runwayml/stable-diffusion-v1-5", torch_dtype=torch.float16).to("cuda")


def handler(job):
    job_input = job["input"]
    image = pipe(job_input["prompt"], num_inference_steps=job_input.get("steps", 25)).images[0]
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"image": base64.b64encode(buffer.getvalue()).decode()}


runpod.serverless.start({"handler": handler})
