import re
from collections import Counter

WORD = re.compile(r"[A-Za-z']+")

def handle(payload, context):
    text = payload.decode("utf-8") if isinstance(payload, bytes) else payload["text"]
    counts = Counter(word.lower() for word in WORD.findall(text))
    return dict(counts.most_common(10))
