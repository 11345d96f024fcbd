from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

DOCUMENTS = ["the cat sat", "dogs bark loudly", "a cat and a dog"]
vectorizer = TfidfVectorizer()
matrix = vectorizer.fit_transform(DOCUMENTS)

def handle(payload, context):
    query = vectorizer.transform([payload["q"]])
    scores = cosine_similarity(query, matrix)[0]
    return sorted(zip(scores.tolist(), DOCUMENTS), reverse=True)[:3]
