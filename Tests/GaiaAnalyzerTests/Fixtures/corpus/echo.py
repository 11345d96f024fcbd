def handle(payload, context):
    return payload
