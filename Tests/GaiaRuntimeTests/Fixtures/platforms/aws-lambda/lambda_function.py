# The shape of an AWS Lambda function invoked directly (docs.aws.amazon.com/lambda/latest/dg/python-handler.html).
import json


def lambda_handler(event, context):
    total = sum(event["numbers"])
    return {"total": total, "request": bool(context.aws_request_id), "remaining_ms": context.get_remaining_time_in_millis() > 0}
