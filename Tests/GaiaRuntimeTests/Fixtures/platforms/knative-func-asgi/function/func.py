# The shape of a Knative func Python function, ASGI template (knative/func, templates/python/http/function/func.py).
import json
import logging


def new():
    """ New is the only method that must be implemented by a Function. """
    return Function()


class Function:
    def __init__(self):
        self.prefix = "unset"

    async def handle(self, scope, receive, send):
        message = await receive()
        data = json.loads(message.get("body") or b"{}")
        body = json.dumps({"hello": data.get("name"), "prefix": self.prefix}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [[b"content-type", b"application/json"]]})
        await send({"type": "http.response.body", "body": body})

    def start(self, cfg):
        logging.info("Function starting")
        self.prefix = "started"

    def stop(self):
        logging.info("Function stopping")

    def alive(self):
        return True, "Alive"

    def ready(self):
        return True, "Ready"
