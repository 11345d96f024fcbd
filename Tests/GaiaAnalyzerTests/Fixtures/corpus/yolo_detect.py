from ultralytics import YOLO

detector = YOLO("yolov8n.pt")

def handle(payload, context):
    results = detector(payload["url"], conf=0.25)
    boxes = results[0].boxes
    return [{"cls": int(c), "conf": float(p)} for c, p in zip(boxes.cls, boxes.conf)]
