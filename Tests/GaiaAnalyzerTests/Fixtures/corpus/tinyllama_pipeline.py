from transformers import pipeline

generator = pipeline(
    "text-generation",
    model="TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    device_map="auto",
)

def handle(payload, context):
    messages = [{"role": "user", "content": payload["question"]}]
    result = generator(messages, max_new_tokens=200)
    return result[0]["generated_text"][-1]
