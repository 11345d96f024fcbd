# The shape of a Truss model (github.com/basetenlabs/truss, truss init): Model(**kwargs), load(),
# preprocess/predict/postprocess.
class Model:
    def __init__(self, **kwargs):
        self._data_dir = kwargs["data_dir"]
        self._config = kwargs["config"]
        self._model = None

    def load(self):
        self._model = lambda values: [2 * v for v in values]

    def preprocess(self, model_input):
        return model_input["values"]

    def predict(self, model_input):
        return {"predictions": self._model(model_input)}

    def postprocess(self, model_output):
        model_output["count"] = len(model_output["predictions"])
        return model_output
