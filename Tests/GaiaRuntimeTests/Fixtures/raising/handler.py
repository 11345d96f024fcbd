def handle(payload, context):
    if payload.get("fail"):
        raise ValueError("bad input: " + str(payload["fail"]))
    return "fine"
