"""The idle workload of Gaia's evaluation: waits, computes nothing. {"seconds": 0.5}"""
import time


def handle(payload, context):
    seconds = float(payload.get("seconds", 0.5)) if isinstance(payload, dict) else 0.5
    if not 0 <= seconds <= 60:
        raise ValueError(f"seconds must be between 0 and 60, got {seconds}")
    time.sleep(seconds)
    return {"slept_s": seconds}
