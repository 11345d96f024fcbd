import time


def init(context):
    time.sleep(0.5)
    raise RuntimeError("the model file is missing")


def handle(payload, context):
    return payload
