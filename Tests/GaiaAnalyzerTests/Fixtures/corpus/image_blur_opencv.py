import cv2
import numpy as np

def handle(payload, context):
    data = np.frombuffer(payload, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    blurred = cv2.GaussianBlur(image, (15, 15), 0)
    ok, encoded = cv2.imencode(".jpg", blurred)
    return encoded.tobytes()
