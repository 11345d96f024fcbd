# Modelled on modal-labs/modal-examples (embeddings), with the model pinned to the CPU though the decorator asks for a T4.
import modal

app = modal.App("embeddings")
image = modal.Image.debian_slim().pip_install("sentence-transformers")


@app.function(gpu="T4", image=image)
def embed(texts: list) -> list:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer("all-MiniLM-L6-v2", device="cpu")
    return model.encode(texts).tolist()
