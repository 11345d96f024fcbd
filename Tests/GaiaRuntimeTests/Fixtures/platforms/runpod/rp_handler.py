# The shape of a RunPod serverless worker (github.com/runpod-workers/worker-template, rp_handler.py).
import runpod


def handler(job):
    job_input = job["input"]
    name = job_input.get("name", "World")
    if not isinstance(name, str):
        return {"error": "name must be a string"}
    return f"Hello, {name}! (job {job['id'] is not None})"


runpod.serverless.start({"handler": handler})
