# Modelled on huggingface/transformers' quicktour (pipeline() with no device argument).
from transformers import pipeline

summarizer = pipeline("summarization", model="facebook/bart-large-cnn")


def handle(payload, context):
    return summarizer(payload["text"], max_length=130, min_length=30, do_sample=False)[0]["summary_text"]
