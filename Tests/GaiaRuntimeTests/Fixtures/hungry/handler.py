def handle(payload, context):
    block = bytearray(int(payload["mb"]) * 1024 * 1024)
    return {"allocated_mb": len(block) // (1024 * 1024)}
