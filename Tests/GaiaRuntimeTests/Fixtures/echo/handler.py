calls = 0


def init(context):
    global calls
    calls = -1000  # proves init ran before the first request


def handle(payload, context):
    global calls
    calls += 1
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, dict) and "text" in payload:
        return payload["text"]
    return {"echo": payload, "calls": calls}
