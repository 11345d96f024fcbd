"""Text generation with TinyLlama-1.1B, the LLM workload of Gaia's evaluation.

The model is a transformers `LlamaForCausalLM` built from TinyLlama-1.1B's published configuration
(22 layers, hidden size 2048, 32 attention heads, 4 key-value heads, intermediate size 5632,
vocabulary 32,000) with random weights: no model hub is reachable from Gaia's build machines, and
generation time depends on the shapes, not the weights' values (greedy decoding of a fixed number of
tokens; end-of-sequence is disabled so every request generates exactly that many). For real text,
download TinyLlama/TinyLlama-1.1B-Chat-v1.0 to local disk and use
`LlamaForCausalLM.from_pretrained("/path/to/TinyLlama-1.1B-Chat-v1.0")` in `init` instead.

Payload: {"tokens": 256, "prompt_tokens": 32} generates `tokens` new tokens (1…1024) after a prompt
of `prompt_tokens` ids (1…2048), or after {"input_ids": [...]}. Returns the generated ids.
Runs where `context.device` says: float16 on a GPU rung, float32 on CPU.

Needs `pip install torch transformers`. Memory: 2.2 GB on a GPU, 4.4 GB on CPU (raise gaia serve's
`memory_limit_mb`, 4,096 MB by default, to run it on CPU rungs).
"""
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM

CONFIG = dict(
    vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
    num_key_value_heads=4, max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
    bos_token_id=1, eos_token_id=2, tie_word_embeddings=False,
)
PARAMETERS = 1_100_048_384

model = None
device = "cpu"


def init(context):
    global model, device
    device = context.device
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    limit_mb = int(os.environ.get("GAIA_MEMORY_LIMIT_MB", "0") or 0)
    needed_mb = PARAMETERS * (2 if dtype == torch.float16 else 4) // 2**20 + 1024
    if 0 < limit_mb < needed_mb and not device.startswith("cuda"):
        raise MemoryError(f"TinyLlama in float32 needs about {needed_mb} MB; this instance may use {limit_mb} MB "
                          "(raise gaia serve's memory_limit_mb, or run it on a GPU rung)")
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(LlamaConfig(**CONFIG)).to(dtype).eval()


def generate(input_ids, tokens):
    with torch.inference_mode():
        output = model.generate(
            input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=tokens, min_new_tokens=tokens,
            do_sample=False, pad_token_id=0)
    return output[0, input_ids.shape[1]:].tolist()


def warmup(context):
    # CUDA kernels load on first use; generate a few tokens before traffic arrives.
    generate(torch.ones((1, 8), dtype=torch.long, device=device), 4)


def handle(payload, context):
    payload = payload if isinstance(payload, dict) else {}
    tokens = int(payload.get("tokens", 256))
    if not 1 <= tokens <= 1024:
        raise ValueError(f"tokens must be between 1 and 1024, got {tokens}")
    if "input_ids" in payload:
        ids = [int(i) for i in payload["input_ids"]]
        if not 1 <= len(ids) <= 2048 or not all(0 <= i < CONFIG["vocab_size"] for i in ids):
            raise ValueError("input_ids must hold 1…2048 ids below 32,000")
    else:
        count = int(payload.get("prompt_tokens", 32))
        if not 1 <= count <= 2048:
            raise ValueError(f"prompt_tokens must be between 1 and 2048, got {count}")
        ids = [1] + [(7 * i + 100) % CONFIG["vocab_size"] for i in range(count - 1)]
    generated = generate(torch.tensor([ids], device=device), tokens)
    return {"device": str(device), "tokens": len(generated), "ids": generated}
