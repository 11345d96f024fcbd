# Modelled on knative/func's Python ASGI template (function/func.py), serving a large matrix product on the GPU when there is one.
import json

import torch


def new():
    return Function()


class Function:
    def __init__(self):
        self.device = "cuda" if torch.cuda.is_available() else "cpu"

    async def handle(self, scope, receive, send):
        message = await receive()
        n = json.loads(message.get("body") or b"{}").get("n", 4096)
        a = torch.rand((4096, 4096), device=self.device)
        b = torch.rand((4096, 4096), device=self.device)
        body = json.dumps({"trace": float((a @ b).trace()), "n": n}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [[b"content-type", b"application/json"]]})
        await send({"type": "http.response.body", "body": body})
