"""A Hugging Face Inference Endpoints custom handler, unchanged: a multinomial naive Bayes topic
classifier trained in __init__ from the examples beside it (train.tsv), answering the
text-classification shape [{"label", "score"}] for {"inputs": text, "parameters": {"top_k": k}}.

`gaia deploy examples/hf-classifier`, then
`gaia invoke hf-classifier --data '{"inputs": "the striker scored twice", "parameters": {"top_k": 2}}'`.
Standard library only.
"""
import math
import os
import re
from collections import Counter, defaultdict
from typing import Any, Dict, List


class EndpointHandler:
    def __init__(self, path=""):
        counts, totals, documents = defaultdict(Counter), Counter(), Counter()
        with open(os.path.join(path, "train.tsv"), encoding="utf-8") as rows:
            for row in rows:
                label, _, text = row.strip().partition("\t")
                if text:
                    words = self.tokens(text)
                    counts[label].update(words)
                    totals[label] += len(words)
                    documents[label] += 1
        self.vocabulary = {word for words in counts.values() for word in words}
        self.counts, self.totals = counts, totals
        self.priors = {label: math.log(n / sum(documents.values())) for label, n in documents.items()}

    @staticmethod
    def tokens(text):
        return re.findall(r"[a-z]+", text.lower())

    def __call__(self, data: Dict[str, Any]) -> List[Dict[str, Any]]:
        inputs = data.pop("inputs", data)
        parameters = data.pop("parameters", None) or {}
        top_k = int(parameters.get("top_k", 1))
        size = len(self.vocabulary)
        logits = {}
        for label, prior in self.priors.items():
            logits[label] = prior + sum(
                math.log((self.counts[label][word] + 1) / (self.totals[label] + size)) for word in self.tokens(str(inputs)))
        top = max(logits.values())
        total = sum(math.exp(v - top) for v in logits.values())
        ranked = sorted(((math.exp(v - top) / total, label) for label, v in logits.items()), reverse=True)
        return [{"label": label, "score": round(score, 4)} for score, label in ranked[:top_k]]
