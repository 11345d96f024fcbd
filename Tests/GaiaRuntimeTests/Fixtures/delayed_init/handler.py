import os
import time


def init(context):
    time.sleep(float(os.environ.get("GAIA_TEST_INIT_DELAY", "0")))


def handle(payload, context):
    return payload
