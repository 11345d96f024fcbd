def handle(payload, context, torch=None):
    torch = payload.get("torch", {"flame": "blue"})
    lit = torch.get("flame")
    return {"torch": lit, "device": torch.get("device", "cuda")}
