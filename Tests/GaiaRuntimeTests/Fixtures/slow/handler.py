import time


def handle(payload, context):
    time.sleep(float(payload["seconds"]))
    return "woke up"
