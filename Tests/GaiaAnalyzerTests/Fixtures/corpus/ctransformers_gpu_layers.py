# Modelled on marella/ctransformers' README (GPU offload with gpu_layers).
from ctransformers import AutoModelForCausalLM

llm = AutoModelForCausalLM.from_pretrained("TheBloke/Llama-2-7B-GGUF", model_file="llama-2-7b.Q4_K_M.gguf",
                                           model_type="llama", gpu_layers=50)


def handle(payload, context):
    return llm(payload["prompt"], max_new_tokens=128)
