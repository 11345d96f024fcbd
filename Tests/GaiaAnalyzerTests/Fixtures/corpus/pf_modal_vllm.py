# Modelled on modal-labs/modal-examples (06_gpu_and_ml/llm-serving/vllm_inference.py): vLLM in an @app.cls on an H100.
import modal

image = modal.Image.debian_slim(python_version="3.12").pip_install("vllm==0.9.1")
app = modal.App("example-vllm-inference", image=image)


@app.cls(gpu="H100", scaledown_window=300)
class Model:
    @modal.enter()
    def load(self):
        from vllm import LLM, SamplingParams

        self.llm = LLM(model="Qwen/Qwen2.5-7B-Instruct")
        self.params = SamplingParams(temperature=0.7, max_tokens=256)

    @modal.method()
    def generate(self, prompt: str) -> str:
        return self.llm.generate([prompt], self.params)[0].outputs[0].text
