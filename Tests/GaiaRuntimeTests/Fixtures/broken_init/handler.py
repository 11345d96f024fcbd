import gaia_no_such_module_for_tests  # noqa: F401


def handle(payload, context):
    return payload
