import numpy as np
import onnxruntime as ort

sess = ort.InferenceSession("detector.onnx", providers=["CUDAExecutionProvider"])

def handle(payload, context):
    frame = np.asarray(payload["frame"], dtype=np.float32)[None]
    boxes, scores = sess.run(None, {"images": frame})
    return {"boxes": boxes.tolist(), "scores": scores.tolist()}
