import difflib

WORDS = ["serverless", "inference", "latency", "throughput", "accelerator"]

def handle(payload, context):
    return difflib.get_close_matches(payload["word"], WORDS, n=3)
