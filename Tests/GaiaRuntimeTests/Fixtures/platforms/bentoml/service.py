# The shape of a BentoML 1.2+ service (docs.bentoml.com, "Hello world"): an @bentoml.service
# class, its @bentoml.api methods taking named inputs.
import bentoml


@bentoml.service(resources={"cpu": "1"}, traffic={"timeout": 10})
class Summarization:
    def __init__(self) -> None:
        self.limit = 5

    @bentoml.api
    def summarize(self, text: str, words: int = 3) -> str:
        return " ".join(text.split()[:min(words, self.limit)])

    @bentoml.api
    def count(self, text: str) -> dict:
        return {"words": len(text.split())}
