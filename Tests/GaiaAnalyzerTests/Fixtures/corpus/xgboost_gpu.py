import numpy as np
import xgboost as xgb

def handle(payload, context):
    X = np.asarray(payload["X"])
    y = np.asarray(payload["y"])
    clf = xgb.XGBClassifier(tree_method="gpu_hist", n_estimators=500)
    clf.fit(X, y)
    return {"train_accuracy": float((clf.predict(X) == y).mean())}
