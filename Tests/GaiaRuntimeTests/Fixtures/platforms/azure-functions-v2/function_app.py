# The shape of an Azure Functions app, v2 programming model (learn.microsoft.com, create-first-function-vs-code-python).
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="greet")
def greet(req: func.HttpRequest) -> func.HttpResponse:
    name = req.params.get("name")
    if not name:
        req_body = req.get_json()
        name = req_body.get("name")
    return func.HttpResponse(f"Hello, {name}.")
