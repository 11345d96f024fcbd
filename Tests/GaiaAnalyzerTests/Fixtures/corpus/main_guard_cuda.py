import statistics

def handle(payload, context):
    values = payload["values"]
    return {"mean": statistics.mean(values), "stdev": statistics.pstdev(values)}

if __name__ == "__main__":
    import torch
    x = torch.randn(10_000, device="cuda")
    print(handle({"values": x.tolist()}, None))
