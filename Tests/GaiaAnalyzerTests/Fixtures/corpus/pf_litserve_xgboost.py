# Modelled on LitServe's classical-ML example (lightning.ai/docs/litserve, "Deploy a XGBoost model").
import litserve as ls
import numpy as np
import xgboost as xgb


class XGBoostAPI(ls.LitAPI):
    def setup(self, device):
        self.model = xgb.Booster()
        self.model.load_model("model.json")

    def decode_request(self, request):
        return xgb.DMatrix(np.asarray(request["features"], dtype=np.float32).reshape(1, -1))

    def predict(self, x):
        return self.model.predict(x)

    def encode_response(self, output):
        return {"score": float(output[0])}


if __name__ == "__main__":
    ls.LitServer(XGBoostAPI(), accelerator="cpu").run(port=8000)
