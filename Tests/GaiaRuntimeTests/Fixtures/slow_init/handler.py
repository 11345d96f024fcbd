import os
import time


def init(context):
    # Tells the test which process is starting, then takes its time to load.
    with open(os.environ["GAIA_TEST_PIDFILE"], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(5)


def handle(payload, context):
    return payload
