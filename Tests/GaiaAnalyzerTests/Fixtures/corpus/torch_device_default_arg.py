# Modelled on openai/CLIP's README usage, with the device as a keyword default of the helper.
import torch
import open_clip

model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
tokenizer = open_clip.get_tokenizer("ViT-B-32")


def embed_text(texts, device="cuda"):
    model.to(device)
    with torch.no_grad():
        return model.encode_text(tokenizer(texts).to(device)).tolist()


def handle(payload, context):
    return embed_text(payload["texts"])
