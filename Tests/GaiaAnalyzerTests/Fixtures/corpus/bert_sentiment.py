from transformers import pipeline

classifier = pipeline("sentiment-analysis", model="distilbert-base-uncased-finetuned-sst-2-english")

def handle(payload, context):
    texts = payload["texts"] if isinstance(payload, dict) else [payload.decode()]
    return classifier(texts)
