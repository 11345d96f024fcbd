import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

name = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
tok = AutoTokenizer.from_pretrained(name)
llm = AutoModelForCausalLM.from_pretrained(name, torch_dtype=torch.float16).to("cuda")

def handle(payload, context):
    ids = tok(payload["prompt"], return_tensors="pt").input_ids.to("cuda")
    out = llm.generate(ids, max_new_tokens=128, do_sample=True, temperature=0.7)
    return tok.decode(out[0])
