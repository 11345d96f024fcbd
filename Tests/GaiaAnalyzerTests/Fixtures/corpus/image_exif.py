import io

from PIL import Image
from PIL.ExifTags import TAGS

def handle(payload, context):
    image = Image.open(io.BytesIO(payload))
    exif = image.getexif()
    return {TAGS.get(tag, str(tag)): str(value) for tag, value in exif.items()}
