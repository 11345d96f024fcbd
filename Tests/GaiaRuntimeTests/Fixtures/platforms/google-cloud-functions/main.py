# The shape of a Google Cloud Functions HTTP function (cloud.google.com/functions/docs/writing/write-http-functions).
import functions_framework


@functions_framework.http
def hello_http(request):
    request_json = request.get_json(silent=True)
    if request_json and "name" in request_json:
        name = request_json["name"]
    else:
        return ("name is required", 400)
    return {"greeting": f"Hello {name}!"}
