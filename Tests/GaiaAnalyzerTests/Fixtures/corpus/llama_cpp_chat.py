from llama_cpp import Llama

llm = Llama(model_path="models/tinyllama-1.1b-chat.Q4_K_M.gguf", n_ctx=2048, n_gpu_layers=-1)

def handle(payload, context):
    reply = llm.create_chat_completion(messages=[{"role": "user", "content": payload["prompt"]}])
    return reply["choices"][0]["message"]["content"]
