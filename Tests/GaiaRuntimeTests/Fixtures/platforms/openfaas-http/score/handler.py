# The shape of an OpenFaaS python3-http template function (github.com/openfaas/python-flask-template).
import json


def handle(event, context):
    data = json.loads(event.body)
    return {
        "statusCode": 200,
        "body": {"sum": data["a"] + data["b"], "method": event.method},
    }
