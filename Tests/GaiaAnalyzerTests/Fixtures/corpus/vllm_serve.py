from vllm import LLM, SamplingParams

llm = LLM(model="TinyLlama/TinyLlama-1.1B-Chat-v1.0")
params = SamplingParams(temperature=0.8, max_tokens=128)

def handle(payload, context):
    outputs = llm.generate([payload["prompt"]], params)
    return outputs[0].outputs[0].text
