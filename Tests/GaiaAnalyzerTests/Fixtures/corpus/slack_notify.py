import json
import urllib.request

def handle(payload, context):
    message = {"text": f"Deploy of {payload['service']} finished: {payload['status']}"}
    request = urllib.request.Request(
        payload["webhook"], data=json.dumps(message).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return {"ok": response.status == 200}
