import csv
import io
import json

def handle(payload, context):
    reader = csv.DictReader(io.StringIO(payload.decode("utf-8")))
    rows = [{k.strip().lower(): v.strip() for k, v in row.items()} for row in reader]
    return json.dumps(rows)
