# Modelled on basetenlabs/truss-examples (llama-2-7b-chat/model/model.py): a causal LM with device_map="auto".
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


class Model:
    def __init__(self, **kwargs):
        self._secrets = kwargs["secrets"]
        self.model = None
        self.tokenizer = None

    def load(self):
        self.model = AutoModelForCausalLM.from_pretrained(
            "meta-llama/Llama-2-7b-chat-hf", torch_dtype=torch.float16, device_map="auto",
            token=self._secrets["hf_access_token"])
        self.tokenizer = AutoTokenizer.from_pretrained("meta-llama/Llama-2-7b-chat-hf")

    def predict(self, request: dict):
        inputs = self.tokenizer(request["prompt"], return_tensors="pt").to(self.model.device)
        with torch.no_grad():
            output = self.model.generate(**inputs, max_new_tokens=request.get("max_new_tokens", 128))
        return {"output": self.tokenizer.decode(output[0], skip_special_tokens=True)}
