"""An AWS Lambda function behind API Gateway, unchanged: flags anomalies in a series with a
robust z-score (median and MAD) and answers API Gateway's {"statusCode", "headers", "body"}.

Gaia hands it an API Gateway proxy event built from the request (event["body"] is the body as
sent) and turns its answer back into an HTTP one: 200 gives the JSON body, 400 refuses the
request with its message. `gaia deploy examples/lambda-anomaly`, then
`gaia invoke lambda-anomaly --data '{"values": [10, 11, 9, 10, 42, 10], "threshold": 3.5}'`.
Standard library only.
"""
import json
import statistics


def lambda_handler(event, context):
    try:
        body = json.loads(event.get("body") or "{}")
        values = [float(v) for v in body["values"]]
    except (ValueError, KeyError, TypeError):
        return {"statusCode": 400, "body": json.dumps({"message": "send {\"values\": [numbers...]}"})}
    if len(values) < 3:
        return {"statusCode": 400, "body": json.dumps({"message": "need at least 3 values"})}
    threshold = float(body.get("threshold", 3.5))
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values) or 1e-9
    scores = [0.6745 * (v - median) / mad for v in values]
    anomalies = [i for i, score in enumerate(scores) if abs(score) > threshold]
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"anomalies": anomalies, "median": median, "scores": [round(s, 3) for s in scores],
                            "request_id": context.aws_request_id}),
    }
