import json
import os

import requests

TARGET = os.environ.get("FORWARD_URL", "http://localhost:9000/hook")

def handle(payload, context):
    body = payload if isinstance(payload, dict) else json.loads(payload)
    response = requests.post(TARGET, json=body, timeout=5)
    response.raise_for_status()
    return {"status": response.status_code}
