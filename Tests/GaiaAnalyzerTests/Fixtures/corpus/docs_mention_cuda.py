"""Normalises feature vectors.

Historically this ran with torch on cuda (model.cuda()), but numpy is enough now.
"""
import numpy as np

# TODO: try device="cuda" again when the GPU budget allows.
NOTE = "do not call .to('cuda') here"

def handle(payload, context):
    v = np.asarray(payload["vector"], dtype=np.float64)
    return (v / np.linalg.norm(v)).tolist()
