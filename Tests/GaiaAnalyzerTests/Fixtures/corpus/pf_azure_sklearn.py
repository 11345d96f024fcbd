# Modelled on Azure's "Python HTTP trigger with a scikit-learn model" sample (Azure-Samples/functions-python-ml).
import json
import logging

import azure.functions as func
import joblib

model = joblib.load("model.pkl")


def main(req: func.HttpRequest) -> func.HttpResponse:
    logging.info("Scoring request")
    features = req.get_json()["features"]
    prediction = model.predict([features]).tolist()
    return func.HttpResponse(json.dumps({"prediction": prediction}), mimetype="application/json")
