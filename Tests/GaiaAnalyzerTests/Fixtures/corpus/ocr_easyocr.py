import easyocr

reader = easyocr.Reader(["en", "de"], gpu=True)

def handle(payload, context):
    lines = reader.readtext(payload, detail=0)
    return {"text": "\n".join(lines)}
