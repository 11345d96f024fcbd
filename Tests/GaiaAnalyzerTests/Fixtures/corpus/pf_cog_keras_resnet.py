# Modelled on replicate/cog-examples (resnet/predict.py): Keras ResNet50 on ImageNet in a Cog predictor.
import numpy as np
from cog import BasePredictor, Input, Path
from tensorflow.keras.applications.resnet50 import ResNet50, decode_predictions, preprocess_input
from tensorflow.keras.preprocessing import image as keras_image


class Predictor(BasePredictor):
    def setup(self):
        self.model = ResNet50(weights="resnet50_weights_tf_dim_ordering_tf_kernels.h5")

    def predict(self, image: Path = Input(description="Image to classify")) -> dict:
        img = keras_image.load_img(image, target_size=(224, 224))
        x = preprocess_input(np.expand_dims(keras_image.img_to_array(img), axis=0))
        preds = self.model.predict(x)
        return {label: float(score) for _, label, score in decode_predictions(preds, top=3)[0]}
