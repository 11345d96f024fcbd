import hashlib
import hmac
import json
import os

SECRET = os.environ["WEBHOOK_SECRET"].encode()

def handle(payload, context):
    signature = context.headers.get("X-Hub-Signature-256", "")
    expected = "sha256=" + hmac.new(SECRET, payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        return {"error": "bad signature"}
    event = json.loads(payload)
    return {"repository": event["repository"]["full_name"], "action": event.get("action")}
