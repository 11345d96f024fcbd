import numpy as np

def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

def handle(payload, context):
    probs = softmax(np.asarray(payload["logits"]))
    return {"label": int(probs.argmax()), "confidence": float(probs.max())}
