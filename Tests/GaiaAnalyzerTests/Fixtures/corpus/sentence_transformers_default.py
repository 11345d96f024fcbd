# Modelled on UKPLab/sentence-transformers' README (SentenceTransformer picks CUDA when available).
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("sentence-transformers/all-mpnet-base-v2")


def handle(payload, context):
    return model.encode(payload["sentences"], batch_size=64).tolist()
