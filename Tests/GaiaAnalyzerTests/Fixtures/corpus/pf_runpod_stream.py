# Modelled on RunPod's streaming handler docs (docs.runpod.io/serverless/workers/handlers/handler-generator).
import time

import runpod


def generator_handler(job):
    for count in range(job["input"].get("count", 3)):
        time.sleep(0.5)
        yield {"count": count}


runpod.serverless.start({"handler": generator_handler, "return_aggregate_stream": True})
