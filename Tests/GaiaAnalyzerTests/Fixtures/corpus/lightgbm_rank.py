import lightgbm as lgb
import numpy as np

booster = lgb.Booster(model_file="ranker.txt")

def handle(payload, context):
    scores = booster.predict(np.asarray(payload["candidates"], dtype=np.float64))
    order = np.argsort(-scores)
    return order.tolist()
