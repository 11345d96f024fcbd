"""A LitServe API, unchanged: hashed character-trigram embeddings, L2-normalised, computed in
batches (LitServe's batch/unbatch hooks with max_batch_size=8).

`python server.py` serves it with LitServe; under Gaia, `gaia deploy examples/litserve-embed` runs
the same file: Gaia groups concurrent requests into batches of up to 8 (read from the
LitServer call below) and passes the instance's device to setup(device).
`gaia invoke litserve-embed --data '{"text": "serverless inference"}'`. Needs numpy.
"""
import zlib

import litserve as ls
import numpy as np

DIMENSIONS = 256


class EmbeddingAPI(ls.LitAPI):
    def setup(self, device):
        self.device = device
        rng = np.random.default_rng(0)
        self.projection = rng.standard_normal((4096, DIMENSIONS)).astype(np.float32)

    def decode_request(self, request):
        text = " " + str(request["text"]).lower() + " "
        counts = np.zeros(4096, dtype=np.float32)
        for i in range(len(text) - 2):
            counts[zlib.crc32(text[i:i + 3].encode()) % 4096] += 1
        return counts

    def batch(self, inputs):
        return np.stack(inputs)

    def predict(self, x):
        embeddings = x @ self.projection
        return embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-9)

    def unbatch(self, output):
        return list(output)

    def encode_response(self, output):
        return {"embedding": [round(float(v), 6) for v in output], "device": self.device}


if __name__ == "__main__":
    server = ls.LitServer(EmbeddingAPI(), accelerator="auto", max_batch_size=8, batch_timeout=0.01)
    server.run(port=8000)
