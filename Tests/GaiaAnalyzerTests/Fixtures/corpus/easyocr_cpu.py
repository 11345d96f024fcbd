# Modelled on JaidedAI/EasyOCR's README (Reader with gpu=False).
import easyocr

reader = easyocr.Reader(["en"], gpu=False)


def handle(payload, context):
    return [text for _, text, _ in reader.readtext(payload["path"])]
