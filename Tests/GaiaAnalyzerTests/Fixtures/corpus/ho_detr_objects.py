from transformers import DetrForObjectDetection, DetrImageProcessor
import torch
from PIL import Image

processor = DetrImageProcessor.from_pretrained("facebook/detr-resnet-50")
model = DetrForObjectDetection.from_pretrained("facebook/detr-resnet-50")

def handle(payload, context):
    image = Image.open(payload["path"])
    inputs = processor(images=image, return_tensors="pt")
    outputs = model(**inputs)
    target = torch.tensor([image.size[::-1]])
    results = processor.post_process_object_detection(outputs, target_sizes=target, threshold=0.9)[0]
    return [model.config.id2label[int(l)] for l in results["labels"]]
