import numpy as np
from scipy import signal

def handle(payload, context):
    samples = np.asarray(payload["samples"], dtype=np.float32)
    target = int(payload.get("rate", 16000))
    resampled = signal.resample(samples, int(len(samples) * target / payload["source_rate"]))
    return resampled.tolist()
