# The shape of a LitServe API (github.com/Lightning-AI/LitServe, README): setup(device),
# decode_request, predict, encode_response; batched with batch/unbatch.
import litserve as ls


class SquareLitAPI(ls.LitAPI):
    def setup(self, device):
        self.device = device
        self.model = lambda x: x * x

    def decode_request(self, request):
        return request["input"]

    def batch(self, inputs):
        return list(inputs)

    def predict(self, x):
        return [self.model(v) for v in x]

    def unbatch(self, output):
        return list(output)

    def encode_response(self, output):
        return {"output": output, "device": self.device}


if __name__ == "__main__":
    server = ls.LitServer(SquareLitAPI(), accelerator="auto", max_batch_size=4, batch_timeout=0.05)
    server.run(port=8000)
