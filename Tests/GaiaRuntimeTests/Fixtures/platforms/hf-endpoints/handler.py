# The shape of a Hugging Face Inference Endpoints custom handler
# (huggingface.co/docs/inference-endpoints/guides/custom_handler): EndpointHandler(path), __call__(data).
import os
from typing import Any, Dict, List


class EndpointHandler:
    def __init__(self, path=""):
        with open(os.path.join(path, "labels.txt")) as f:
            self.labels = [line.strip() for line in f if line.strip()]

    def __call__(self, data: Dict[str, Any]) -> List[Dict[str, Any]]:
        inputs = data.pop("inputs", data)
        parameters = data.pop("parameters", None) or {}
        top_k = int(parameters.get("top_k", 2))
        scores = sorted(((sum(map(ord, label + inputs)) % 97 / 97, label) for label in self.labels), reverse=True)
        return [{"label": label, "score": round(score, 4)} for score, label in scores[:top_k]]
