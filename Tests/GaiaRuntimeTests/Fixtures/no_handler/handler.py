def helper(payload):
    return payload
