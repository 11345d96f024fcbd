# Modelled on the Hugging Face Inference Endpoints custom handler guide (huggingface.co/docs/inference-endpoints/guides/custom_handler).
from typing import Any, Dict, List

from transformers import pipeline


class EndpointHandler:
    def __init__(self, path=""):
        self.pipeline = pipeline("text-classification", model=path)

    def __call__(self, data: Dict[str, Any]) -> List[Dict[str, Any]]:
        inputs = data.pop("inputs", data)
        prediction = self.pipeline(inputs)
        return prediction
