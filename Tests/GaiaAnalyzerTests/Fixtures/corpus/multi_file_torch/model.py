import torch
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 64, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.body(x)

def load_model():
    net = Classifier()
    net.load_state_dict(torch.load("classifier.pt"))
    return net.cuda().eval()

def predict(net, data):
    with torch.no_grad():
        return net(torch.tensor(data).cuda()).softmax(-1).tolist()
