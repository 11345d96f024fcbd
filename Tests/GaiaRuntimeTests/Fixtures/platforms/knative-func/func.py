# The shape of a Knative func Python function, Flask-style template (knative/func, templates/python/http/func.py).
from parliament import Context
from flask import Request


def payload(req: Request) -> dict:
    return {"echo": req.get_json(force=True), "method": req.method}


def main(context: Context):
    """
    Function template
    The context parameter contains the Flask request object and any
    CloudEvent received with the request.
    """
    if "request" in context.keys():
        return payload(context.request), 200
    else:
        print("Empty request", flush=True)
        return "{}", 200
