import numpy as np
from sklearn.cluster import KMeans

def handle(payload, context):
    points = np.asarray(payload["points"])
    km = KMeans(n_clusters=int(payload.get("k", 3)), n_init="auto").fit(points)
    return {"labels": km.labels_.tolist(), "centers": km.cluster_centers_.tolist()}
