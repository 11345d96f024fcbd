import numpy as np
import tensorflow as tf

model = tf.keras.applications.ResNet50(weights="imagenet")

def handle(payload, context):
    image = np.array(payload["image"], dtype=np.float32)[None, ...]
    image = tf.keras.applications.resnet50.preprocess_input(image)
    predictions = model.predict(image)
    return tf.keras.applications.resnet50.decode_predictions(predictions, top=3)[0]
