from model import load_model, predict

net = load_model()

def handle(payload, context):
    return {"scores": predict(net, payload["input"])}
