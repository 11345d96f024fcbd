# Modelled on abetlen/llama-cpp-python's README (the default: no layers offloaded, CPU threads).
from llama_cpp import Llama

llm = Llama(model_path="/models/tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", n_gpu_layers=0, n_threads=4)


def handle(payload, context):
    output = llm.create_chat_completion(messages=[{"role": "user", "content": payload["prompt"]}], max_tokens=64)
    return output["choices"][0]["message"]["content"]
