# Modelled on Lightning-AI/LitServe's "BERT text classification" example: the model moved to the device LitServe passes.
import litserve as ls
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer


class TextClassificationAPI(ls.LitAPI):
    def setup(self, device):
        self.tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
        self.model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased").to(device).eval()
        self.device = device

    def decode_request(self, request):
        return self.tokenizer(request["text"], return_tensors="pt", truncation=True).to(self.device)

    def predict(self, inputs):
        with torch.no_grad():
            return self.model(**inputs).logits.softmax(dim=-1)

    def encode_response(self, output):
        return {"probabilities": output.tolist()}
