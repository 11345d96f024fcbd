# The shape of a streaming Truss model (truss docs, "Streaming output"): predict returns a
# generator; postprocess is not applied to a stream.
class Model:
    def __init__(self, **kwargs):
        self._words = None

    def load(self):
        self._words = ["one", "two", "three"]

    def predict(self, model_input):
        def inner():
            for word in self._words[: model_input.get("n", 3)]:
                yield word + " "
        return inner()

    def postprocess(self, model_output):
        return {"wrapped": model_output}
