REQUIRED = {"id": int, "email": str, "age": int}

def handle(payload, context):
    errors = []
    for field, kind in REQUIRED.items():
        if field not in payload:
            errors.append(f"missing {field}")
        elif not isinstance(payload[field], kind):
            errors.append(f"{field} must be {kind.__name__}")
    return {"valid": not errors, "errors": errors}
