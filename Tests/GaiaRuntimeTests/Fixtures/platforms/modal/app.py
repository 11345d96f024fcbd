# The shape of a Modal app (modal.com/docs/guide/lifecycle-functions): an @app.cls with an
# @modal.enter() loader and @modal.method() entry points.
import modal

image = modal.Image.debian_slim().pip_install("numpy")
app = modal.App("example-counter", image=image)


@app.cls(cpu=1.0, scaledown_window=60)
class Counter:
    @modal.enter()
    def load(self):
        self.vowels = set("aeiou")

    @modal.method()
    def vowels_in(self, text: str) -> int:
        return sum(1 for ch in text.lower() if ch in self.vowels)


@app.local_entrypoint()
def main():
    print(Counter().vowels_in.remote("hello"))
