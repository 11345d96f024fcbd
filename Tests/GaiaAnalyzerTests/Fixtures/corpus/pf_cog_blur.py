# Modelled on replicate/cog-examples (blur/predict.py): a Cog predictor blurring an image with Pillow.
from cog import BasePredictor, Input, Path
from PIL import Image, ImageFilter


class Predictor(BasePredictor):
    def predict(self, image: Path = Input(description="Input image"), blur: float = Input(default=5)) -> Path:
        if blur == 0:
            return image
        im = Image.open(str(image))
        im = im.filter(ImageFilter.BoxBlur(blur))
        out_path = Path("/tmp/out.png")
        im.save(str(out_path))
        return out_path
