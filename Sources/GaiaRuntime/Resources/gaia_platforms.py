"""Handlers written for other serving platforms, run by Gaia unchanged.

The worker shim (gaia_worker.py) loads a function whose manifest names another platform's
convention (GAIA_CONVENTION: cog, hf-endpoints, truss, litserve, runpod, bentoml, ray-serve,
modal, aws-lambda, aws-lambda-http, azure-functions, google-cloud-functions, openfaas,
openfaas-http, knative-func, knative-func-asgi) through `load()`: it imports the module, does
the platform's setup (Cog's `setup()`, LitServe's `setup(device)`, Truss's `load()`, Modal's
`@modal.enter` methods...) and returns a `handle(payload, context)` (and a `handle_batch` where
the platform batches), so the rest of the shim runs it like any Gaia handler. The device the
platform passes in is the instance's (`context.device`: "cuda:0" on a GPU rung, "cpu" elsewhere),
so the function follows promotion and demotion.

Where the platform's SDK is not installed, its imports resolve to small stand-ins defined here
(the names handlers use: base classes, decorators, input and request types). They are found only
after every other finder has failed, so an installed SDK is never shadowed; where one is installed
only the objects it wraps the user's code in are unwrapped (`func_or_class`, `inner`, `raw_f`...).
A handler's answer of an HTTP error (a 4xx `statusCode`, an `HttpResponse(status_code=404)`) is
`Rejected` (the caller gets 400 and its body); a 5xx is `Failed` (500).
Standard library only.
"""
import base64
import dataclasses
import importlib.abc
import importlib.machinery
import inspect
import json
import os
import pathlib
import sys
import tempfile
import threading
import time
import types
import urllib.parse


class Rejected(Exception):
    """The handler refused the request (a client error): its caller gets 400 with this message."""


class Failed(Exception):
    """The handler answered a server error: its caller gets 500 with this message."""


# ---------------------------------------------------------------------------------------------
# Calling the user's code


_loops = threading.local()


def run(value):
    """An awaitable's result (async handlers run on one event loop per thread), anything else as it is."""
    if not inspect.isawaitable(value):
        return value
    import asyncio  # only for async handlers

    loop = getattr(_loops, "loop", None)
    if loop is None:
        loop = _loops.loop = asyncio.new_event_loop()
    return loop.run_until_complete(value)


MISSING = object()


def field_default(default):
    """A parameter's default: Cog's `Input(default=...)` and pydantic's `Field(...)` give theirs."""
    kind = type(default).__name__
    if kind in ("Input", "FieldInfo"):
        value = getattr(default, "default", MISSING)
        if value is MISSING or type(value).__name__ in ("PydanticUndefinedType", "ellipsis"):
            return MISSING
        return value
    return default


def coerce(value, annotation):
    """A JSON value as the parameter's type asks: a path for `Path`, a number for `int`/`float`."""
    if annotation is inspect.Parameter.empty or value is None:
        return value
    if isinstance(annotation, type):
        if issubclass(annotation, pathlib.PurePath) and isinstance(value, str):
            return annotation(to_file(value))
        if annotation is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if annotation is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
    return value


def to_file(value):
    """A file input: a data URI or base64 written to a temporary file, a local path as it is."""
    if value.startswith("data:"):
        header, _, data = value.partition(",")
        raw = base64.b64decode(data) if header.endswith(";base64") else urllib.parse.unquote_to_bytes(data)
        suffix = {"image/png": ".png", "image/jpeg": ".jpg", "audio/wav": ".wav", "text/plain": ".txt"}.get(
            header[5:].split(";")[0], "")
        handle, path = tempfile.mkstemp(suffix=suffix)
        with os.fdopen(handle, "wb") as out:
            out.write(raw)
        return path
    return value


def call_with(fn, payload, keywords=False):
    """Calls a platform's typed function with a payload: a JSON object's keys as its keyword
    arguments where they name its parameters (defaults filled in, values coerced to their
    annotations), else the payload as its one argument. `keywords`: the function takes its inputs
    by name only (Cog), and an unknown or missing one is the caller's error."""
    signature = inspect.signature(fn)
    parameters = [p for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    open_ended = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    names = {p.name for p in parameters}
    if isinstance(payload, dict) and (keywords or open_ended or set(payload) <= names) and (payload or keywords or not parameters):
        unknown = sorted(set(payload) - names)
        if unknown and not open_ended:
            raise Rejected(f"unknown input(s) {', '.join(unknown)}: {fn.__name__} takes {', '.join(sorted(names)) or 'none'}")
        arguments = dict(payload)
        for p in parameters:
            if p.name not in arguments and p.default is not p.empty:
                default = field_default(p.default)
                if default is not MISSING:
                    arguments[p.name] = default
            if p.name in arguments:
                arguments[p.name] = coerce(arguments[p.name], p.annotation)
        missing = [p.name for p in parameters if p.name not in arguments]
        if missing:
            raise Rejected(f"missing input(s) {', '.join(missing)} for {fn.__name__}; send them as a JSON object's keys")
        return run(fn(**arguments))
    if not parameters:
        return run(fn())
    return run(fn(payload))


def plain(value):
    """A platform's output as Gaia encodes results: models and dataclasses as JSON objects, arrays
    as lists, a file path as the file's bytes; generators item by item."""
    if value is None or isinstance(value, (str, bytes, bytearray, bool, int, float)):
        return value
    if isinstance(value, types.GeneratorType):
        return (plain(item) for item in value)
    if isinstance(value, types.AsyncGeneratorType):
        async def items():
            async for item in value:
                yield plain(item)
        return items()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, pathlib.PurePath):
        with open(value, "rb") as data:
            return data.read()
    if hasattr(value, "model_dump"):
        return plain(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "__dict__") and not callable(value):
        return plain({key: item for key, item in vars(value).items() if not key.startswith("_")})
    return value


def unwrap(obj):
    """The user's class or function inside an installed SDK's wrapper."""
    for attribute in ("func_or_class", "inner", "_user_cls", "user_cls", "raw_f", "_function", "__wrapped__"):
        inner = getattr(obj, attribute, None)
        if inner is not None and (inspect.isclass(inner) or callable(inner)):
            return unwrap(inner)
    raw = getattr(obj, "get_raw_f", None)
    return unwrap(raw()) if callable(raw) else obj


def choose(methods, payload, owner):
    """One of a service's methods: the only one, or the one the payload's "api" key names."""
    if len(methods) == 1:
        return methods[0], payload
    if isinstance(payload, dict) and payload.get("api") in methods:
        rest = dict(payload)
        return rest.pop("api"), rest
    raise Rejected(f"{owner} has {len(methods)} methods ({', '.join(methods)}): name one as the payload's \"api\"")


def raw_body(payload, context):
    body = getattr(context, "body", None)
    if body is not None:
        return bytes(body)
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    return payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()


def http_answer(status, body, content_type=""):
    """An HTTP-shaped answer as a Gaia result: 2xx its body (JSON parsed, text decoded), 4xx
    Rejected, 5xx Failed."""
    if isinstance(body, (bytes, bytearray)):
        data = bytes(body)
        try:
            text = data.decode()
        except UnicodeDecodeError:
            text = None
    else:
        text = "" if body is None else str(body)
        data = text.encode()
    status = int(status or 200)
    if status >= 400:
        message = (text if text is not None else f"{len(data)} bytes").strip()[:2000]
        raise (Rejected if status < 500 else Failed)(f"the handler answered {status}: {message}")
    if text is None:
        return data
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json") or (not kind and text[:1] in "{["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def status_dict(result):
    """A `{"statusCode", "body", "headers", "isBase64Encoded"}` answer (Lambda, OpenFaaS), or
    anything else as it is."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return plain(result)
    headers = {str(key).lower(): value for key, value in (result.get("headers") or {}).items()}
    body = result.get("body")
    if result.get("isBase64Encoded") and isinstance(body, str):
        body = base64.b64decode(body)
    elif not isinstance(body, (str, bytes, bytearray)) and body is not None:
        return plain(body) if int(result["statusCode"]) < 400 else http_answer(result["statusCode"], json.dumps(plain(body)))
    return http_answer(result["statusCode"], body, headers.get("content-type", ""))


class Headers(dict):
    """Request headers, looked up in any case."""

    def __init__(self, pairs=()):
        super().__init__((str(key).lower(), value) for key, value in dict(pairs).items())

    def __getitem__(self, key):
        return super().__getitem__(str(key).lower())

    def get(self, key, default=None):
        return super().get(str(key).lower(), default)

    def __contains__(self, key):
        return super().__contains__(str(key).lower())


def request_headers(context):
    return Headers({"content-type": getattr(context, "content_type", None) or "application/octet-stream",
                    "x-request-id": str(getattr(context, "request_id", "") or "")})


# ---------------------------------------------------------------------------------------------
# Request objects of the HTTP-shaped conventions


class FlaskLikeRequest:
    """What Google Cloud Functions and Knative func hand a handler where Flask is not installed:
    the parts of `flask.Request` handlers read."""

    def __init__(self, body, headers):
        self.data = body
        self.headers = headers
        self.method = "POST"
        self.path = "/"
        self.args = {}
        self.form = {}
        self.values = {}
        self.content_type = headers.get("content-type", "")
        self.mimetype = self.content_type.split(";")[0].strip()
        self.is_json = self.mimetype == "application/json" or self.mimetype.endswith("+json")

    def get_data(self, as_text=False, **_):
        return self.data.decode() if as_text else self.data

    def get_json(self, force=False, silent=False, **_):
        if not (self.is_json or force):
            return None
        try:
            return json.loads(self.data or b"null")
        except ValueError:
            if silent:
                return None
            raise Rejected("the body is not valid JSON") from None

    @property
    def json(self):
        return self.get_json()


class StarletteLikeRequest:
    """What a Ray Serve deployment's `__call__` gets: the parts of `starlette.requests.Request`."""

    def __init__(self, body, headers):
        self._body = body
        self.headers = headers
        self.method = "POST"
        self.query_params = {}
        self.path_params = {}
        self.url = types.SimpleNamespace(path="/", query="")

    async def body(self):
        return self._body

    async def json(self):
        return json.loads(self._body or b"null")


def flask_call(fn, arguments, body, headers):
    """Runs a Flask-style handler: in a real Flask request context where Flask is installed
    (`flask.request`, `jsonify` work as in production), else with `FlaskLikeRequest`. Answers
    its result as Gaia's."""
    try:
        import flask  # noqa: F401 - a real Flask request where the function has it
        real = not getattr(flask, "__gaia_stand_in__", False)
    except ImportError:
        real = False
    if real:
        global _flask_app
        if _flask_app is None:
            _flask_app = flask.Flask("gaia_function")
        with _flask_app.test_request_context("/", method="POST", data=body, headers=dict(headers)):
            response = _flask_app.make_response(run(fn(*arguments(flask.request))))
            return http_answer(response.status_code, response.get_data(), response.mimetype)
    value = run(fn(*arguments(FlaskLikeRequest(body, headers))))
    return flask_result(value)


_flask_app = None


def flask_result(value):
    """A Flask-style return value: body, (body, status), (body, status, headers), a response."""
    status, headers = 200, {}
    if isinstance(value, tuple):
        value, *rest = value
        for item in rest:
            if isinstance(item, int):
                status = item
            elif isinstance(item, dict):
                headers = item
    if hasattr(value, "get_data") and hasattr(value, "status_code"):
        return http_answer(value.status_code, value.get_data(), getattr(value, "mimetype", ""))
    if isinstance(value, (dict, list)):
        if status >= 400:
            return http_answer(status, json.dumps(plain(value)), "application/json")
        return plain(value)
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return http_answer(status, value, content_type)


# ---------------------------------------------------------------------------------------------
# Conventions: each builds the platform's object once, then adapts each request


class Adapter:
    handle_batch = None


class Cog(Adapter):
    def __init__(self, target, context, directory):
        self.predictor = target()
        setup = getattr(self.predictor, "setup", None)
        if callable(setup):
            required = [p for p in inspect.signature(setup).parameters.values()
                        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            run(setup(*[None] * len(required)))  # `setup(self, weights)`: no weights URL under Gaia

    def handle(self, payload, context):
        inputs = payload
        if isinstance(payload, dict) and set(payload) == {"input"} and isinstance(payload["input"], dict):
            inputs = payload["input"]  # Cog's own HTTP shape: {"input": {...}}
        if not isinstance(inputs, dict):
            raise Rejected("a Cog predictor takes its inputs by name: send a JSON object {\"name\": value, ...}")
        return plain(call_with(self.predictor.predict, inputs, keywords=True))


class HuggingFaceEndpoint(Adapter):
    def __init__(self, target, context, directory):
        self.handler = target(path=directory) if "path" in inspect.signature(target).parameters else target()

    def handle(self, payload, context):
        data = payload if isinstance(payload, dict) else {"inputs": payload}
        return plain(run(self.handler(data)))


class Truss(Adapter):
    def __init__(self, target, context, directory):
        config = {}
        for name in ("config.yaml", "../config.yaml"):
            path = os.path.join(directory, name)
            if os.path.exists(path):
                try:
                    import yaml  # a Truss installs PyYAML; without it the config is empty

                    with open(path) as text:
                        config = yaml.safe_load(text) or {}
                except ImportError:
                    pass
                break
        offered = {"config": config, "data_dir": pathlib.Path(directory) / "data", "secrets": dict(os.environ),
                   "environment": {}, "lazy_data_resolver": None}
        parameters = inspect.signature(target).parameters
        if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
            self.model = target(**offered)
        else:
            self.model = target(**{key: value for key, value in offered.items() if key in parameters})
        if callable(getattr(self.model, "load", None)):
            run(self.model.load())

    def handle(self, payload, context):
        value = payload
        if callable(getattr(self.model, "preprocess", None)):
            value = run(self.model.preprocess(value))
        value = run(self.model.predict(value))
        if callable(getattr(self.model, "postprocess", None)) and not isinstance(value, (types.GeneratorType, types.AsyncGeneratorType)):
            value = run(self.model.postprocess(value))
        return plain(value)


class LitServe(Adapter):
    def __init__(self, target, context, directory):
        self.api = target()
        run(self.api.setup(context.device))
        # Served with a batch size (LitServer(max_batch_size=N)) or batch hooks of its own, its
        # predict takes batches: a request alone is a batch of one, as LitServe runs it.
        own = vars(target)
        self.batched = int(os.environ.get("GAIA_MAX_BATCH", "1") or 1) > 1 or "batch" in own or "unbatch" in own

    def decode(self, payload):
        decode = getattr(self.api, "decode_request", None)
        return run(decode(payload)) if callable(decode) else payload

    def encode(self, output):
        encode = getattr(self.api, "encode_response", None)
        return plain(run(encode(output))) if callable(encode) else plain(output)

    def handle(self, payload, context):
        if self.batched:
            return self.handle_batch([payload], context)[0]
        return self.encode(run(self.api.predict(self.decode(payload))))

    def handle_batch(self, payloads, context):
        inputs = [self.decode(payload) for payload in payloads]
        batch = getattr(self.api, "batch", None)
        outputs = run(self.api.predict(batch(inputs) if callable(batch) else inputs))
        unbatch = getattr(self.api, "unbatch", None)
        return [self.encode(output) for output in (unbatch(outputs) if callable(unbatch) else list(outputs))]


class RunPod(Adapter):
    def __init__(self, target, context, directory):
        self.handler = target

    def handle(self, payload, context):
        result = run(self.handler({"id": str(context.request_id), "input": payload}))
        if isinstance(result, dict) and "error" in result and set(result) <= {"error", "refresh_worker"}:
            raise Failed(str(result["error"]))
        if isinstance(result, dict):
            result = {key: value for key, value in result.items() if key != "refresh_worker"}
        return plain(result)


def marked_methods(cls, marks):
    """A class's methods carrying one of the platform's markers, in definition order (an installed
    BentoML's API methods are `APIMethod` objects, which count as marked for `__gaia_api__`)."""
    found = []
    for name, value in vars(cls).items():
        if any(getattr(value, mark, None) for mark in marks) or ("__gaia_api__" in marks and type(value).__name__ == "APIMethod"):
            found.append(name)
    return found


class BentoML(Adapter):
    def __init__(self, target, context, directory):
        self.service = target()
        self.apis = marked_methods(type(self.service), ("__gaia_api__",)) or [
            name for name in vars(type(self.service)) if not name.startswith("_") and callable(getattr(self.service, name))]
        self.name = type(self.service).__name__

    def handle(self, payload, context):
        name, payload = choose(self.apis, payload, self.name)
        return plain(call_with(getattr(self.service, name), payload))


class RayServe(Adapter):
    def __init__(self, target, context, directory, module=None):
        args, kwargs = (), {}
        for value in vars(module).values():  # `app = Deployment.bind(...)`: its constructor arguments
            bound = getattr(value, "__gaia_bound__", None)
            if bound is not None and unwrap(bound[0]) is target:
                args, kwargs = bound[1], bound[2]
        self.call = target(*args, **kwargs) if inspect.isclass(target) else target

    def handle(self, payload, context):
        request = StarletteLikeRequest(raw_body(payload, context), request_headers(context))
        return plain(run(self.call(request)))


class Modal(Adapter):
    def __init__(self, target, context, directory):
        self.name = getattr(target, "__name__", "function")
        if inspect.isclass(target):
            self.instance = target()
            for hook in marked_methods(target, ("__gaia_build__",)) + marked_methods(target, ("__gaia_enter__",)):
                run(getattr(self.instance, hook)())
            self.methods = marked_methods(target, ("__gaia_method__", "__gaia_endpoint__"))
            if not self.methods:
                raise TypeError(f"the Modal class {self.name} has no @modal.method() to call")
        else:
            self.instance, self.methods, self.function = None, None, target

    def handle(self, payload, context):
        if self.instance is None:
            return plain(call_with(self.function, payload))
        name, payload = choose(self.methods, payload, self.name)
        return plain(call_with(unwrap(getattr(type(self.instance), name)).__get__(self.instance), payload))


class LambdaContext:
    """The `context` an AWS Lambda handler reads."""

    def __init__(self, context):
        self.function_name = getattr(context, "function_name", "")
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{self.function_name}"
        self.memory_limit_in_mb = int(os.environ.get("GAIA_MEMORY_LIMIT_MB", "0") or 0) or 1024
        self.aws_request_id = str(getattr(context, "request_id", "") or "")
        self.log_group_name = f"/gaia/{self.function_name}"
        self.log_stream_name = self.aws_request_id
        self.identity = self.client_context = None
        self._deadline = time.monotonic() + float(os.environ.get("GAIA_TIMEOUT_SECONDS", "60") or 60)

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class AWSLambda(Adapter):
    def __init__(self, target, context, directory, http=False):
        self.handler, self.http = target, http

    def handle(self, payload, context):
        event = payload
        if self.http:
            body = raw_body(payload, context)
            try:
                text, encoded = body.decode(), False
            except UnicodeDecodeError:
                text, encoded = base64.b64encode(body).decode(), True
            event = {"version": "1.0", "resource": "/", "path": "/", "rawPath": "/", "httpMethod": "POST",
                     "headers": dict(request_headers(context)), "queryStringParameters": None, "pathParameters": None,
                     "requestContext": {"requestId": str(context.request_id), "httpMethod": "POST", "path": "/",
                                        "http": {"method": "POST", "path": "/"}},
                     "body": text, "isBase64Encoded": encoded}
        return status_dict(run(self.handler(event, LambdaContext(context))))


class AzureFunctions(Adapter):
    def __init__(self, target, context, directory):
        self.function = target
        self.takes_context = len(inspect.signature(target).parameters) >= 2

    def handle(self, payload, context):
        functions = importlib.import_module("azure.functions")  # the SDK, or the stand-in
        body, headers = raw_body(payload, context), request_headers(context)
        request = functions.HttpRequest(method="POST", url="http://localhost/api/" + context.function_name,
                                        headers=dict(headers), params={}, route_params={}, body=body)
        arguments = [request]
        if self.takes_context:
            arguments.append(types.SimpleNamespace(invocation_id=str(context.request_id), function_name=context.function_name,
                                                   function_directory=os.environ.get("GAIA_FUNCTION_DIR", ""), trace_context=None))
        response = run(self.function(*arguments))
        if hasattr(response, "get_body") and hasattr(response, "status_code"):
            return http_answer(response.status_code, response.get_body(), getattr(response, "mimetype", "") or "")
        return flask_result(response)


class GoogleCloudFunctions(Adapter):
    def __init__(self, target, context, directory):
        self.function = target

    def handle(self, payload, context):
        return flask_call(self.function, lambda request: [request], raw_body(payload, context), request_headers(context))


class OpenFaaS(Adapter):
    def __init__(self, target, context, directory):
        self.function = target

    def handle(self, payload, context):
        body = raw_body(payload, context)
        try:
            text = body.decode()
        except UnicodeDecodeError:
            text = body
        return plain(run(self.function(text)))


class OpenFaaSHTTP(Adapter):
    def __init__(self, target, context, directory):
        self.function = target

    def handle(self, payload, context):
        event = types.SimpleNamespace(body=raw_body(payload, context), headers=request_headers(context), method="POST",
                                      query={}, path="/")
        result = run(self.function(event, types.SimpleNamespace(hostname=os.uname().nodename)))
        return status_dict(result)


class KnativeFunc(Adapter):
    def __init__(self, target, context, directory):
        self.function = target

    def handle(self, payload, context):
        def arguments(request):
            return [KnativeContext(request)]

        return flask_call(self.function, arguments, raw_body(payload, context), request_headers(context))


class KnativeContext:
    """What Knative func's `main(context)` gets (parliament's Context): the request, no CloudEvent."""

    def __init__(self, request):
        self.request, self.cloud_event = request, None

    def keys(self):
        return ["request"]


class KnativeFuncASGI(Adapter):
    def __init__(self, target, context, directory):
        self.app = target()
        start = getattr(self.app, "start", None)
        if callable(start):
            run(start(dict(os.environ)))

    def handle(self, payload, context):
        body = raw_body(payload, context)
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "",
                 "headers": [(key.encode(), str(value).encode()) for key, value in request_headers(context).items()],
                 "server": ("localhost", 8080), "client": None}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        answer = {"status": 200, "headers": {}, "body": b""}

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message.get("status", 200)
                answer["headers"] = {bytes(k).decode().lower(): bytes(v).decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                answer["body"] += bytes(message.get("body", b""))

        handle = getattr(self.app, "handle", None) or self.app
        run(handle(scope, receive, send))
        return http_answer(answer["status"], answer["body"], answer["headers"].get("content-type", ""))


ADAPTERS = {
    "cog": Cog, "hf-endpoints": HuggingFaceEndpoint, "truss": Truss, "litserve": LitServe, "runpod": RunPod,
    "bentoml": BentoML, "ray-serve": RayServe, "modal": Modal, "aws-lambda": AWSLambda, "aws-lambda-http": AWSLambda,
    "azure-functions": AzureFunctions, "google-cloud-functions": GoogleCloudFunctions, "openfaas": OpenFaaS,
    "openfaas-http": OpenFaaSHTTP, "knative-func": KnativeFunc, "knative-func-asgi": KnativeFuncASGI,
}


def load(convention, import_module, handler_name, context, directory):
    """Imports the function (`import_module()`, with the platform's stand-ins where its SDK is
    absent) and builds the platform's object: an adapter with `handle(payload, context)` and,
    where the platform batches, `handle_batch(payloads, context)`."""
    adapter = ADAPTERS.get(convention)
    if adapter is None:
        raise ValueError(f"unknown handler convention {convention!r}; Gaia runs gaia, {', '.join(sorted(ADAPTERS))}")
    install_stand_ins()
    captured = capture_runpod_start() if convention == "runpod" else None
    module = import_module()
    if captured is not None and captured.get("handler") is not None:
        target = captured["handler"]
    else:
        target = getattr(module, handler_name, None)
        if target is None:
            raise AttributeError(f"the {convention} handler {handler_name!r} is not defined at the top of the module")
    target = unwrap(target)
    if convention == "ray-serve":
        return RayServe(target, context, directory, module=module)
    if convention.startswith("aws-lambda"):
        return AWSLambda(target, context, directory, http=convention == "aws-lambda-http")
    return adapter(target, context, directory)


def capture_runpod_start():
    """RunPod's `serverless.start(config)` runs its own job loop: under Gaia it only records the
    handler (the installed SDK's as well as the stand-in's)."""
    captured = {}
    try:
        import runpod.serverless as serverless
    except ImportError:
        return captured

    def start(config, *_, **__):
        captured.update(config or {})

    serverless.start = start
    if "runpod" in sys.modules:
        sys.modules["runpod"].serverless = serverless
    return captured


# ---------------------------------------------------------------------------------------------
# Stand-ins for absent SDKs: only the names handlers use


class Anything:
    """Configuration objects of a cloud SDK that mean nothing here (images, volumes, secrets):
    every attribute and call gives another."""

    def __init__(self, *_, **__):
        pass

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything()

    def __call__(self, *_, **__):
        return Anything()

    def __iter__(self):
        return iter(())


def marker(mark, value=True):
    """A decorator usable bare or called (`@enter` or `@enter()`) that marks what it decorates."""
    def decorate(target=None, *_, **options):
        def apply(inner):
            try:
                setattr(inner, mark, options or value)
            except (AttributeError, TypeError):
                pass
            return inner
        if callable(target) and not options:
            return apply(target)
        return apply
    return decorate


def build_cog(m):
    class BasePredictor:
        def setup(self, weights=None):
            pass

    class Input:
        def __init__(self, default=MISSING, description=None, ge=None, le=None, min_length=None, max_length=None,
                     regex=None, choices=None, **_):
            self.default, self.description, self.choices = default, description, choices

    class Path(type(pathlib.Path())):
        pass

    class BaseModel:
        def __init__(self, **fields):
            self.__dict__.update(fields)

        def model_dump(self):
            return dict(self.__dict__)

    class ConcatenateIterator:
        def __class_getitem__(cls, item):
            return cls

    m.BasePredictor, m.Input, m.Path, m.BaseModel, m.File = BasePredictor, Input, Path, BaseModel, Path
    m.ConcatenateIterator = ConcatenateIterator
    m.Secret = str


def build_runpod(m):
    m.__path__ = []
    m.serverless = importlib.import_module("runpod.serverless")


def build_runpod_serverless(m):
    m.start = lambda config, *_, **__: None
    m.__path__ = []


def build_litserve(m):
    class LitAPI:
        def __init__(self, *_, **options):
            self.max_batch_size = options.get("max_batch_size", 1)
            self.stream = options.get("stream", False)

        def setup(self, device):
            pass

        def decode_request(self, request, **_):
            return request

        def encode_response(self, output, **_):
            return output

        def batch(self, inputs):
            if inputs and hasattr(inputs[0], "shape") and "numpy" in sys.modules:
                return sys.modules["numpy"].stack(inputs)
            return inputs

        def unbatch(self, output):
            return list(output)

    class LitServer:
        def __init__(self, api=None, *_, **options):
            self.api, self.options = api, options

        def run(self, *_, **__):
            pass

    m.LitAPI, m.LitServer = LitAPI, LitServer


def build_bentoml(m):
    def service(cls=None, **options):
        def apply(inner):
            inner.__gaia_service__ = options or True
            return inner
        return apply(cls) if inspect.isclass(cls) else apply

    m.service = service
    m.api = marker("__gaia_api__")
    m.task = marker("__gaia_api__")
    m.Image = Anything
    m.images = Anything()
    m.models = Anything()
    m.depends = Anything
    m.importing = lambda: Anything()


def build_ray(m):
    m.__path__ = []
    m.init = lambda *_, **__: None
    m.is_initialized = lambda: True
    m.serve = importlib.import_module("ray.serve")


def build_ray_serve(m):
    class Deployment:
        def __init__(self, target, options):
            self.func_or_class, self.options_ = target, options
            self.__name__ = getattr(target, "__name__", "deployment")

        def bind(self, *args, **kwargs):
            return types.SimpleNamespace(__gaia_bound__=(self, args, kwargs))

        def options(self, **options):
            return Deployment(self.func_or_class, {**self.options_, **options})

        def __call__(self, *args, **kwargs):
            return self.func_or_class(*args, **kwargs)

    def deployment(target=None, **options):
        if target is not None and callable(target) and not options:
            return Deployment(target, {})
        return lambda inner: Deployment(inner, options)

    def batch(fn=None, **_):
        # Gaia batches by handle_batch; per request, a @serve.batch method gets a batch of one.
        def apply(inner):
            async def one(self, item):
                result = inner(self, [item])
                return (await result if inspect.isawaitable(result) else result)[0]
            return one
        return apply(fn) if callable(fn) else apply

    m.deployment, m.batch = deployment, batch
    m.run = lambda *_, **__: None
    m.ingress = lambda app: (lambda cls: cls)
    m.start = m.shutdown = lambda *_, **__: None
    m.__path__ = []


def build_modal(m):
    class App:
        def __init__(self, *_, **__):
            self.image = Anything()

        def function(self, target=None, **_):
            return target if callable(target) else (lambda inner: inner)

        def cls(self, target=None, **_):
            return target if inspect.isclass(target) else (lambda inner: inner)

        def local_entrypoint(self, *_, **__):
            return lambda inner: inner

        def __getattr__(self, name):
            return Anything()

    m.App = m.Stub = App
    m.enter = marker("__gaia_enter__")
    m.build = marker("__gaia_build__")
    m.exit = marker("__gaia_exit__")
    m.method = marker("__gaia_method__")
    m.fastapi_endpoint = m.web_endpoint = marker("__gaia_endpoint__")
    m.concurrent = m.batched = marker("__gaia_options__")
    m.parameter = lambda default=None, **_: default

    def anything(name):  # Image, Volume, Secret, gpu, Retries...: configuration with no meaning here
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything()

    m.__getattr__ = anything


def build_functions_framework(m):
    m.http = marker("__gaia_http__")
    m.cloud_event = marker("__gaia_cloud_event__")


def build_azure(m):
    m.__path__ = []


def build_azure_functions(m):
    class HttpRequest:
        def __init__(self, method, url, *, headers=None, params=None, route_params=None, body=b""):
            self.method, self.url = method, url
            self.headers, self.params, self.route_params = Headers(headers or {}), dict(params or {}), dict(route_params or {})
            self._body = body

        def get_body(self):
            return self._body

        def get_json(self):
            try:
                return json.loads(self._body)
            except ValueError:
                raise ValueError("HTTP request does not contain valid JSON data") from None

    class HttpResponse:
        def __init__(self, body=None, *, status_code=200, headers=None, mimetype=None, charset="utf-8"):
            self.status_code, self.headers, self.charset = status_code, dict(headers or {}), charset
            self.mimetype = mimetype or ("text/plain" if isinstance(body, str) else "application/octet-stream")
            self._body = body.encode(charset) if isinstance(body, str) else (body or b"")

        def get_body(self):
            return self._body

    class FunctionApp:
        def __init__(self, *_, **__):
            pass

        def __getattr__(self, name):
            return lambda *_, **__: (lambda inner: inner)

    m.HttpRequest, m.HttpResponse, m.FunctionApp = HttpRequest, HttpResponse, FunctionApp
    m.AuthLevel = types.SimpleNamespace(ANONYMOUS="anonymous", FUNCTION="function", ADMIN="admin")
    m.Context = object


def build_parliament(m):
    m.Context = KnativeContext


def build_starlette(m):
    m.__path__ = []


def build_starlette_requests(m):
    m.Request = StarletteLikeRequest


def build_flask(m):
    class Response:
        def __init__(self, response=b"", status=200, headers=None, mimetype=None, content_type=None):
            self.status_code = status
            self.mimetype = (mimetype or content_type or "text/html").split(";")[0]
            self._data = response.encode() if isinstance(response, str) else bytes(response or b"")

        def get_data(self, as_text=False):
            return self._data.decode() if as_text else self._data

    def jsonify(*args, **kwargs):
        value = args[0] if len(args) == 1 else (list(args) if args else kwargs)
        return Response(json.dumps(plain(value)), mimetype="application/json")

    def make_response(*args):
        value = flask_result(args if len(args) > 1 else args[0])
        return Response(json.dumps(value) if isinstance(value, (dict, list)) else value,
                        mimetype="application/json" if isinstance(value, (dict, list)) else "text/plain")

    def abort(status, description=""):
        raise (Rejected if status < 500 else Failed)(f"the handler answered {status}: {description}".rstrip(": "))

    m.Request, m.Response, m.jsonify, m.make_response, m.abort = FlaskLikeRequest, Response, jsonify, make_response, abort
    m.__gaia_stand_in__ = True


STAND_INS = {
    "cog": build_cog, "runpod": build_runpod, "runpod.serverless": build_runpod_serverless, "litserve": build_litserve,
    "bentoml": build_bentoml, "ray": build_ray, "ray.serve": build_ray_serve, "modal": build_modal,
    "functions_framework": build_functions_framework, "azure": build_azure, "azure.functions": build_azure_functions,
    "parliament": build_parliament, "starlette": build_starlette, "starlette.requests": build_starlette_requests, "flask": build_flask,
}
PACKAGES = {"runpod", "ray", "azure", "starlette"}


class StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """The last finder on `sys.meta_path`: it answers only for the SDKs above, and only when no
    other finder found them (an installed SDK is always the one imported)."""

    def find_spec(self, name, path=None, target=None):
        if name not in STAND_INS:
            return None
        return importlib.machinery.ModuleSpec(name, self, is_package=name in PACKAGES)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__gaia_stand_in__ = True
        STAND_INS[module.__name__](module)


def install_stand_ins():
    if not any(isinstance(finder, StandIns) for finder in sys.meta_path):
        sys.meta_path.append(StandIns())
