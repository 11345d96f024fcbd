import json
import httpx

SERVER = "http://tf-serving:8501/v1/models/resnet:predict"

async def handle(payload, context):
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(SERVER, json={"instances": payload["instances"]})
    return json.loads(response.text)["predictions"]
