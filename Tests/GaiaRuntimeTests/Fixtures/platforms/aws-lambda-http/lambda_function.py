# The shape of an AWS Lambda function behind API Gateway (proxy integration): reads event["body"],
# answers statusCode and a JSON body.
import json


def lambda_handler(event, context):
    body = json.loads(event["body"] or "{}")
    if "name" not in body:
        return {"statusCode": 400, "body": json.dumps({"message": "name is required"})}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": f"hello {body['name']}", "method": event["httpMethod"]}),
    }
