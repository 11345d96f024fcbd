"""Returns its payload unchanged: the floor of Gaia's per-invocation overhead."""


def handle(payload, context):
    return payload
