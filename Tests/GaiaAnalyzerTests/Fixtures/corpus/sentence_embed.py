from sentence_transformers import SentenceTransformer

encoder = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")

def handle(payload, context):
    sentences = payload["sentences"]
    vectors = encoder.encode(sentences, normalize_embeddings=True)
    return vectors.tolist()
