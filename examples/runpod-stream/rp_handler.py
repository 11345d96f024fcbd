"""A RunPod serverless worker, unchanged: a generator handler whose items stream as they are
made (RunPod's /stream; under Gaia, `gaia invoke runpod-stream --stream`).

Payload (RunPod's job["input"]): {"n": 10, "delay_ms": 0}: the first n Fibonacci numbers, one
item each. Bad input answers RunPod's {"error": ...}, which Gaia reports as the invocation's
error. `gaia deploy examples/runpod-stream`. Standard library only.
"""
import time

import runpod


def handler(job):
    job_input = job["input"]
    n = job_input.get("n", 10)
    if not isinstance(n, int) or not 1 <= n <= 1000:
        return {"error": f"n must be an integer from 1 to 1000, not {n!r}"}
    return fibonacci(n, job_input.get("delay_ms", 0) / 1000)


def fibonacci(n, delay):
    a, b = 0, 1
    for i in range(n):
        if delay:
            time.sleep(delay)
        yield {"index": i, "value": a}
        a, b = b, a + b


runpod.serverless.start({"handler": handler, "return_aggregate_stream": True})
