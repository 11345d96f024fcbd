# The shape of a Ray Serve deployment (docs.ray.io/en/latest/serve/getting_started.html):
# a class with __call__(request), bound with its constructor's arguments.
from ray import serve
from starlette.requests import Request


@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 1})
class Translator:
    def __init__(self, suffix: str):
        self.suffix = suffix

    def translate(self, text: str) -> str:
        return text.upper() + self.suffix

    async def __call__(self, http_request: Request) -> str:
        english_text: str = await http_request.json()
        return self.translate(english_text["text"])


translator_app = Translator.bind("!")
