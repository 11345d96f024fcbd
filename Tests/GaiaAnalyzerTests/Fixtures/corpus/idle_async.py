import asyncio

async def handle(payload, context):
    await asyncio.sleep(payload.get("delay", 0.5))
    return "done"
