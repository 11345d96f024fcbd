# Modelled on aws-samples "serverless ML inference with ONNX Runtime on Lambda": a CPU-only session behind API Gateway.
import json

import numpy as np
import onnxruntime as ort

session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])


def lambda_handler(event, context):
    features = np.asarray(json.loads(event["body"])["features"], dtype=np.float32)[None, :]
    output = session.run(None, {session.get_inputs()[0].name: features})[0]
    return {"statusCode": 200, "body": json.dumps({"prediction": output.tolist()})}
