"""Streams `n` items `gap` seconds apart: text lines saying when each was made, JSON objects
({"json": true}) or, with {"async": true}, from an async generator. {"fail": true} raises after
the items; {"marker": PATH} writes PATH when the generator is closed before its end."""
import asyncio
import time


def handle(payload, context):
    if payload.get("async"):
        return items_async(payload)
    if payload.get("plain"):
        return "not a stream"
    return items(payload)


def item(payload, i):
    return {"i": i, "at": time.time()} if payload.get("json") else f"chunk {i} at {time.time():.6f}\n"


def items(payload):
    i = -1
    try:
        for i in range(payload.get("n", 5)):
            if i:
                time.sleep(payload.get("gap", 0.2))
            yield item(payload, i)
        if payload.get("fail"):
            raise RuntimeError(f"failed after {i + 1} items")
    except GeneratorExit:
        if payload.get("marker"):
            with open(payload["marker"], "w") as marker:
                marker.write(f"closed after item {i}")
        raise


async def items_async(payload):
    for i in range(payload.get("n", 5)):
        await asyncio.sleep(payload.get("gap", 0.01))
        yield item(payload, i)
