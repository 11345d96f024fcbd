# Modelled on philschmid's Whisper custom handler for Inference Endpoints (handler.py): an ASR pipeline on GPU 0.
import base64
from typing import Any, Dict

import torch
from transformers import pipeline


class EndpointHandler:
    def __init__(self, path=""):
        self.pipe = pipeline("automatic-speech-recognition", model="openai/whisper-large-v3", torch_dtype=torch.float16, device=0)

    def __call__(self, data: Dict[str, Any]) -> Dict[str, str]:
        audio = base64.b64decode(data["inputs"])
        return {"text": self.pipe(audio, chunk_length_s=30)["text"]}
