/// The shape of a function's entry point: Gaia's own `handle(payload, context)`, or a handler
/// written for another serving platform, which the worker shim adapts unchanged.
public enum HandlerConvention: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// `def handle(payload, context)`.
    case gaia
    /// Cog: `class Predictor(BasePredictor)` with `setup()` and `predict(**inputs)`.
    case cog
    /// Hugging Face Inference Endpoints: `class EndpointHandler` with `__init__(path)` and `__call__(data)`.
    case huggingFaceEndpoints = "hf-endpoints"
    /// Truss: `class Model` with `load()` and `predict(request)` (optional `preprocess`/`postprocess`).
    case truss
    /// LitServe: a `LitAPI` subclass (`setup(device)`, `decode_request`, `predict`, `encode_response`, batching hooks).
    case litServe = "litserve"
    /// RunPod: `runpod.serverless.start({"handler": f})`, `f(job)` reading `job["input"]`.
    case runPod = "runpod"
    /// BentoML: an `@bentoml.service` class with `@bentoml.api` methods.
    case bentoML = "bentoml"
    /// Ray Serve: an `@serve.deployment` class with `__call__(request)`, or a deployment function.
    case rayServe = "ray-serve"
    /// Modal: `@app.cls` with `@modal.enter` and `@modal.method`, or an `@app.function`.
    case modal
    /// AWS Lambda invoked directly: `lambda_handler(event, context)`, the event being the payload.
    case awsLambda = "aws-lambda"
    /// AWS Lambda behind API Gateway: the handler reads `event["body"]` and answers `{"statusCode", "body"}`.
    case awsLambdaHTTP = "aws-lambda-http"
    /// Azure Functions: `main(req: func.HttpRequest)`, or an `@app.route` function of a `FunctionApp`.
    case azureFunctions = "azure-functions"
    /// Google Cloud Functions: an `@functions_framework.http` function of a Flask-like request.
    case googleCloudFunctions = "google-cloud-functions"
    /// OpenFaaS `python3`: `handle(req)`, the request body as a string.
    case openFaaS = "openfaas"
    /// OpenFaaS `python3-http`: `handle(event, context)` reading `event.body`, answering `{"statusCode", "body"}`.
    case openFaaSHTTP = "openfaas-http"
    /// Knative `func` (Flask-style template): `main(context)` reading `context.request`.
    case knativeFunc = "knative-func"
    /// Knative `func` (ASGI template): `new()` returning an object with `async handle(scope, receive, send)`.
    case knativeFuncASGI = "knative-func-asgi"

    /// The name written in manifests and printed by `gaia deploy`.
    public var description: String { rawValue }

    /// What the convention looks like, for a person: the platform and its entry point.
    public var shape: String {
        switch self {
        case .gaia: "Gaia: def handle(payload, context)"
        case .cog: "Cog: class Predictor(BasePredictor) with setup() and predict(...)"
        case .huggingFaceEndpoints: "Hugging Face Inference Endpoints: class EndpointHandler with __init__(path) and __call__(data)"
        case .truss: "Truss: class Model with load() and predict(request)"
        case .litServe: "LitServe: class ...(ls.LitAPI) with setup(device), decode_request, predict, encode_response"
        case .runPod: "RunPod: runpod.serverless.start({\"handler\": handler})"
        case .bentoML: "BentoML: an @bentoml.service class with @bentoml.api methods"
        case .rayServe: "Ray Serve: an @serve.deployment class with __call__(request)"
        case .modal: "Modal: an @app.cls class (@modal.enter, @modal.method) or an @app.function"
        case .awsLambda: "AWS Lambda: lambda_handler(event, context)"
        case .awsLambdaHTTP: "AWS Lambda behind API Gateway: lambda_handler(event, context) reading event[\"body\"]"
        case .azureFunctions: "Azure Functions: main(req: func.HttpRequest) or an @app.route function"
        case .googleCloudFunctions: "Google Cloud Functions: an @functions_framework.http function"
        case .openFaaS: "OpenFaaS (python3): handle(req)"
        case .openFaaSHTTP: "OpenFaaS (python3-http): handle(event, context) reading event.body"
        case .knativeFunc: "Knative func: main(context)"
        case .knativeFuncASGI: "Knative func (ASGI): new() returning an object with async handle(scope, receive, send)"
        }
    }

    /// The platform alone: "Cog", "AWS Lambda behind API Gateway".
    public var platform: String { String(shape.prefix { $0 != ":" }) }

    /// Every convention Gaia runs, one per line: what an unknown entry point is refused with.
    public static var known: String { allCases.map { "  - " + $0.shape }.joined(separator: "\n") }
}
