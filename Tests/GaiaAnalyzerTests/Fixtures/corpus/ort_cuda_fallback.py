import numpy as np
import onnxruntime as ort

PROVIDERS = ["CUDAExecutionProvider", "CPUExecutionProvider"]
session = ort.InferenceSession("resnet50.onnx", providers=PROVIDERS)

def handle(payload, context):
    x = np.asarray(payload["image"], dtype=np.float32).reshape(1, 3, 224, 224)
    return int(np.argmax(session.run(None, {"input": x})[0]))
