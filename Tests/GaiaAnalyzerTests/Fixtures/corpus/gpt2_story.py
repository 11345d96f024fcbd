import torch
from transformers import GPT2LMHeadModel, GPT2Tokenizer

tokenizer = GPT2Tokenizer.from_pretrained("gpt2")
model = GPT2LMHeadModel.from_pretrained("gpt2")
model.eval()

def handle(payload, context):
    stories = []
    for seed in payload.get("seeds", ["Once upon a time"]):
        ids = tokenizer.encode(seed, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(ids, max_length=100, do_sample=True, top_k=50)
        stories.append(tokenizer.decode(out[0], skip_special_tokens=True))
    return stories
