# Modelled on bentoml/BentoSklearnExample (service.py), deployed with a GPU asked for in its resources.
import bentoml
import joblib
import numpy as np


@bentoml.service(resources={"gpu": 1, "gpu_type": "nvidia-tesla-t4"})
class IrisClassifier:
    def __init__(self):
        self.model = joblib.load("iris_clf.joblib")

    @bentoml.api
    def classify(self, input_series: np.ndarray) -> np.ndarray:
        return self.model.predict(input_series)
