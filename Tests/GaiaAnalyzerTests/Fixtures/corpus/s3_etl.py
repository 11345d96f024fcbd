import gzip
import json

import boto3

s3 = boto3.client("s3")

def handle(payload, context):
    obj = s3.get_object(Bucket=payload["bucket"], Key=payload["key"])
    records = [json.loads(line) for line in gzip.decompress(obj["Body"].read()).splitlines()]
    cleaned = [r for r in records if r.get("status") == "ok"]
    s3.put_object(Bucket=payload["bucket"], Key=payload["key"] + ".clean", Body=json.dumps(cleaned))
    return {"kept": len(cleaned), "dropped": len(records) - len(cleaned)}
