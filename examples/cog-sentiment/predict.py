"""A Cog predictor, unchanged: a lexicon sentiment scorer (VADER-style, with negation and
intensifiers) loaded in setup() and run by predict() with Cog's typed inputs.

Under Gaia: `gaia deploy examples/cog-sentiment`, then
`gaia invoke cog-sentiment --data '{"text": "not bad, really great"}'` (or Cog's own shape,
`{"input": {"text": ...}}`). Without Cog installed, `from cog import ...` resolves to Gaia's
stand-ins. Standard library only.
"""
import re

from cog import BasePredictor, Input

LEXICON = """
amazing 3.1 awful -3.0 bad -2.5 best 3.2 boring -1.9 broken -2.2 delightful 2.9 disappointing -2.3
excellent 3.2 fantastic 3.0 fine 0.8 good 1.9 great 3.1 happy 2.7 hate -2.7 horrible -2.5 love 3.2
mediocre -1.1 nice 1.8 perfect 2.7 poor -2.1 sad -2.1 slow -1.2 terrible -2.9 ugly -2.3 useless -2.4
wonderful 2.9 worst -3.1
"""
INTENSIFIERS = {"really": 0.3, "very": 0.3, "extremely": 0.4, "so": 0.2, "slightly": -0.3, "barely": -0.4}
NEGATIONS = {"not", "no", "never", "isn't", "wasn't", "don't", "doesn't", "hardly"}


class Predictor(BasePredictor):
    def setup(self):
        """Load the model into memory to make running multiple predictions efficient"""
        words = LEXICON.split()
        self.lexicon = {word: float(score) for word, score in zip(words[::2], words[1::2])}

    def predict(
        self,
        text: str = Input(description="Text to score"),
        threshold: float = Input(description="Scores beyond ±threshold are not neutral", default=0.05, ge=0.0, le=1.0),
    ) -> dict:
        """Run a single prediction on the model"""
        tokens = re.findall(r"[a-z']+", text.lower())
        total, hits = 0.0, 0
        for i, token in enumerate(tokens):
            score = self.lexicon.get(token)
            if score is None:
                continue
            before = tokens[max(0, i - 2):i]
            score *= 1 + sum(INTENSIFIERS.get(word, 0.0) for word in before)
            if any(word in NEGATIONS for word in before):
                score *= -0.74
            total, hits = total + score, hits + 1
        compound = total / (abs(total) + 15) ** 0.5 if hits else 0.0
        label = "positive" if compound > threshold else "negative" if compound < -threshold else "neutral"
        return {"label": label, "compound": round(compound, 4), "matched": hits}
