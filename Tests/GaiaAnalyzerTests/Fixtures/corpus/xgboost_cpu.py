import xgboost as xgb
import pandas as pd

model = xgb.XGBRegressor(n_estimators=300, max_depth=6, tree_method="hist")
model.load_model("price.json")

def handle(payload, context):
    frame = pd.DataFrame(payload["rows"])
    return model.predict(frame).tolist()
