# Modelled on huggingface/transformers, examples/pytorch/text-classification (an evaluate helper
# that receives the device as an argument).
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("distilbert-base-uncased-finetuned-sst-2-english")
model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased-finetuned-sst-2-english")


def classify(texts, device):
    model.to(device)
    batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt").to(device)
    with torch.no_grad():
        return model(**batch).logits.argmax(dim=-1).tolist()


def handle(payload, context):
    return classify(payload["texts"], "cuda:0")
