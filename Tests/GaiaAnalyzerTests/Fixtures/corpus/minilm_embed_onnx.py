import numpy as np
import onnxruntime

session = onnxruntime.InferenceSession("all-MiniLM-L6-v2-int8.onnx")

def handle(payload, context):
    ids = np.array([payload["input_ids"]], dtype=np.int64)
    mask = np.ones_like(ids)
    outputs = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    embedding = outputs[0][0].mean(axis=0)
    return (embedding / np.linalg.norm(embedding)).tolist()
