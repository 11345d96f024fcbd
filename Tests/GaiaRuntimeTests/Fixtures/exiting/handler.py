import os
import time


def handle(payload, context):
    if payload.get("leave_a_child"):
        # A grandchild in a session of its own keeps the instance's descriptors, its protocol
        # output included, open after the instance has exited.
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(30)
            os._exit(0)
        time.sleep(0.2)
    os._exit(1)
