# Modelled on Truss's scikit-learn example (truss docs, "Deploy a scikit-learn model"): a pickled model from data_dir.
import joblib


class Model:
    def __init__(self, **kwargs):
        self._data_dir = kwargs["data_dir"]
        self._model = None

    def load(self):
        self._model = joblib.load(self._data_dir / "model.joblib")

    def predict(self, model_input):
        return {"predictions": self._model.predict_proba(model_input["inputs"]).tolist()}
