import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

if torch.cuda.is_available():
    device = "cuda"
elif torch.backends.mps.is_available():
    device = "mps"
else:
    device = "cpu"

tok = AutoTokenizer.from_pretrained("Qwen/Qwen2-0.5B-Instruct")
model = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-0.5B-Instruct").to(device)

def handle(payload, context):
    ids = tok.apply_chat_template([{"role": "user", "content": payload["q"]}], return_tensors="pt").to(device)
    out = model.generate(ids, max_new_tokens=100)
    return tok.decode(out[0][ids.shape[1]:], skip_special_tokens=True)
