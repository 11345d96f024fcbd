import base64
import io

from PIL import Image

def handle(payload, context):
    image = Image.open(io.BytesIO(base64.b64decode(payload["image"])))
    image.thumbnail((128, 128))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return {"thumbnail": base64.b64encode(out.getvalue()).decode()}
