import numpy as np
import tensorflow as tf

interpreter = tf.lite.Interpreter(model_path="mobilenet_v2_1.0_224.tflite")
interpreter.allocate_tensors()
inp = interpreter.get_input_details()[0]
out = interpreter.get_output_details()[0]

def handle(payload, context):
    x = np.asarray(payload["image"], dtype=np.float32).reshape(inp["shape"])
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    return int(np.argmax(interpreter.get_tensor(out["index"])))
