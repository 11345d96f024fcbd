# Modelled on ultralytics/ultralytics' README (YOLO picks the first CUDA device when available).
from ultralytics import YOLO

model = YOLO("yolov8n.pt")


def handle(payload, context):
    results = model(payload["image_path"])
    return [[float(v) for v in box] for box in results[0].boxes.xyxy.tolist()]
