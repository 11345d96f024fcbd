# Modelled on openfaas/python-flask-template (python3-http) handlers serving a scikit-learn model.
import json

import joblib

model = joblib.load("function/model.joblib")


def handle(event, context):
    data = json.loads(event.body)
    return {"statusCode": 200, "body": {"label": int(model.predict([data["features"]])[0])}}
