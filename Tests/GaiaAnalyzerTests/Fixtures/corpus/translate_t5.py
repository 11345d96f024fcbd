from transformers import T5ForConditionalGeneration, T5Tokenizer

tokenizer = T5Tokenizer.from_pretrained("t5-small")
model = T5ForConditionalGeneration.from_pretrained("t5-small")

def handle(payload, context):
    text = "translate English to German: " + payload["text"]
    ids = tokenizer(text, return_tensors="pt").input_ids
    out = model.generate(ids, max_new_tokens=60)
    return tokenizer.decode(out[0], skip_special_tokens=True)
