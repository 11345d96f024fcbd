# Modelled on marella/ctransformers' README (the CPU default: no gpu_layers).
from ctransformers import AutoModelForCausalLM

llm = AutoModelForCausalLM.from_pretrained("marella/gpt-2-ggml")


def handle(payload, context):
    return llm(payload.get("prompt", "AI is going to"), max_new_tokens=32)
