# Modelled on the AWS Lambda S3 thumbnail tutorial (docs.aws.amazon.com/lambda/latest/dg/with-s3-tutorial.html).
import uuid
from urllib.parse import unquote_plus

import boto3
from PIL import Image

s3_client = boto3.client("s3")


def resize_image(image_path, resized_path):
    with Image.open(image_path) as image:
        image.thumbnail(tuple(x / 2 for x in image.size))
        image.save(resized_path)


def lambda_handler(event, context):
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        download_path = "/tmp/{}{}".format(uuid.uuid4(), key.replace("/", ""))
        upload_path = "/tmp/resized-{}".format(key.replace("/", ""))
        s3_client.download_file(bucket, key, download_path)
        resize_image(download_path, upload_path)
        s3_client.upload_file(upload_path, "{}-resized".format(bucket), "resized-{}".format(key))
