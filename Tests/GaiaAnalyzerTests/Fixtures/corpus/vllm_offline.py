# Modelled on vllm-project/vllm, examples/offline_inference/basic.py.
from vllm import LLM, SamplingParams

llm = LLM(model="facebook/opt-125m")
sampling = SamplingParams(temperature=0.8, top_p=0.95)


def handle(payload, context):
    outputs = llm.generate(payload["prompts"], sampling)
    return [o.outputs[0].text for o in outputs]
