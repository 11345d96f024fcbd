import joblib
import numpy as np

model = joblib.load("churn_model.joblib")

def handle(payload, context):
    features = np.array([payload["features"]])
    return {"churn_probability": float(model.predict_proba(features)[0, 1])}
