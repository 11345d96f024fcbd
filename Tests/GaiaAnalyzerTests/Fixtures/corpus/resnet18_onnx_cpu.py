import numpy as np
import onnxruntime as ort

session = ort.InferenceSession("resnet18.onnx", providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name

def handle(payload, context):
    x = np.asarray(payload["image"], dtype=np.float32).reshape(1, 3, 224, 224)
    (logits,) = session.run(None, {input_name: x})
    return {"label": int(np.argmax(logits))}
