#!/usr/bin/env python3
"""Other platforms' handlers under their real SDKs (the shim's stand-ins unused): each case is
loaded by the shim's own load_function in a fresh interpreter and invoked once; prints the answer
and which SDKs were the real ones.

    python3 -m venv /tmp/sdks --system-site-packages
    /tmp/sdks/bin/pip install cog==0.23.1 litserve==0.2.19 runpod==1.12.0 functions-framework==3.10.2
    /tmp/sdks/bin/python bench/platform_sdks.py

The same folders run with the stand-ins in PlatformHandlerTests and PlatformExamplesTests.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = "Tests/GaiaRuntimeTests/Fixtures/platforms"
CASES = [
    (f"{FIXTURES}/cog", "predict.py", "Predictor", "cog", {"text": "good great day", "scale": 2}, {"score": 6.0, "words": 3}),
    (f"{FIXTURES}/litserve", "server.py", "SquareLitAPI", "litserve", {"input": 7}, {"output": 49, "device": "cpu"}),
    (f"{FIXTURES}/runpod", "rp_handler.py", "handler", "runpod", {"name": "Ada"}, "Hello, Ada! (job True)"),
    (f"{FIXTURES}/google-cloud-functions", "main.py", "hello_http", "google-cloud-functions", {"name": "Ada"}, {"greeting": "Hello Ada!"}),
    ("examples/cog-sentiment", "predict.py", "Predictor", "cog", {"text": "not bad, really great"}, None),
    ("examples/runpod-stream", "rp_handler.py", "handler", "runpod", {"n": 5}, [{"index": i, "value": v} for i, v in enumerate([0, 1, 1, 2, 3])]),
]
SDKS = ("cog", "litserve", "runpod", "functions_framework", "flask")

CHILD = r"""
import json, os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "Sources/GaiaRuntime/Resources"))
sys.dont_write_bytecode = True
import gaia_worker as w
payload = json.loads(sys.argv[2])
context = w.Context("bench", "cpu-1", [], "cpu")
handle, _, _, _ = w.load_function(context)
context.body, context.content_type, context.request_id = json.dumps(payload).encode(), "application/json", "r1"
result = handle(payload, context)
if w.is_stream(result):
    result = list(w.Stream(result))
real = [m for m in %r if m in sys.modules and not getattr(sys.modules[m], "__gaia_stand_in__", False)]
print(json.dumps({"result": result, "real": real}))
""" % (SDKS,)


def main():
    failures = 0
    for folder, entry, handler, convention, payload, expected in CASES:
        env = dict(os.environ, GAIA_FUNCTION_DIR=os.path.join(ROOT, folder), GAIA_ENTRY_POINT=entry, GAIA_HANDLER=handler,
                   GAIA_CONVENTION=convention, PYTHONWARNINGS="ignore")
        run = subprocess.run([sys.executable, "-c", CHILD, ROOT, json.dumps(payload)], env=env, capture_output=True, text=True)
        if run.returncode != 0:
            failures += 1
            print(f"{folder}: FAILED\n{run.stderr[-2000:]}")
            continue
        answer = json.loads(run.stdout.strip().splitlines()[-1])
        ok = expected is None or answer["result"] == expected
        failures += not ok
        print(f"{folder:<55} {convention:<24} real SDKs {', '.join(answer['real']) or 'none (stand-ins)':<22} "
              f"{'ok' if ok else 'WRONG'}  {json.dumps(answer['result'])[:70]}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
