import numpy as np

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])

def handle(payload, context):
    image = np.asarray(payload["pixels"], dtype=np.float32) / 255.0
    normalized = (image - MEAN) / STD
    return normalized.transpose(2, 0, 1).tolist()
