# Modelled on abetlen/llama-cpp-python's README (high-level API, all layers offloaded to the GPU).
from llama_cpp import Llama

llm = Llama(model_path="/models/mistral-7b-instruct-v0.2.Q4_K_M.gguf", n_gpu_layers=-1, n_ctx=4096)


def handle(payload, context):
    output = llm(payload["prompt"], max_tokens=int(payload.get("max_tokens", 128)), stop=["</s>"])
    return output["choices"][0]["text"]
