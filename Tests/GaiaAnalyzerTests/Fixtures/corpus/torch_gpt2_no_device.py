# Modelled on huggingface/transformers' generation docs (GPT-2 generate, model left where loaded).
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("gpt2-medium")
model = AutoModelForCausalLM.from_pretrained("gpt2-medium")


def handle(payload, context):
    inputs = tokenizer(payload["prompt"], return_tensors="pt")
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=int(payload.get("tokens", 50)))
    return tokenizer.decode(output[0], skip_special_tokens=True)
