# The shape of a Cog model (github.com/replicate/cog, docs/python.md): setup() once, predict()
# with typed inputs and their defaults.
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self):
        """Load the model into memory to make running multiple predictions efficient"""
        self.lexicon = {"good": 1.0, "great": 2.0, "bad": -1.0, "awful": -2.0}

    def predict(
        self,
        text: str = Input(description="Text to score"),
        scale: float = Input(description="Multiplier", default=1.0, ge=0.0),
    ) -> dict:
        """Run a single prediction on the model"""
        words = text.lower().split()
        return {"score": sum(self.lexicon.get(w, 0.0) for w in words) * scale, "words": len(words)}
