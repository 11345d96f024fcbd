# The shape of an Azure Functions HTTP trigger, v1 programming model (func init --worker-runtime python).
import json
import logging

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    logging.info("Python HTTP trigger function processed a request.")
    try:
        req_body = req.get_json()
    except ValueError:
        return func.HttpResponse("Please pass a JSON body", status_code=400)
    values = req_body.get("values", [])
    return func.HttpResponse(json.dumps({"mean": sum(values) / len(values)}), mimetype="application/json")
