import time

def handle(payload, context):
    seconds = float(payload.get("seconds", 1.0))
    time.sleep(seconds)
    return {"slept": seconds}
