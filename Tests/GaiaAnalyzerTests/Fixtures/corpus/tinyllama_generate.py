from transformers import AutoModelForCausalLM, AutoTokenizer

MODEL_ID = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
model = AutoModelForCausalLM.from_pretrained(MODEL_ID)

def handle(payload, context):
    prompt = payload.get("prompt", "Hello")
    inputs = tokenizer(prompt, return_tensors="pt")
    output = model.generate(**inputs, max_new_tokens=int(payload.get("max_tokens", 64)))
    return {"text": tokenizer.decode(output[0], skip_special_tokens=True)}
