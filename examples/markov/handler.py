"""A token generator that runs anywhere: a word-level Markov chain (order 2) learned at init from a
public-domain text, generating one word at a time and streaming each as it is made.

Payload: {"prompt": "the rabbit", "tokens": 40, "delay_ms": 0, "seed": 0}. The handler returns a
generator, so Gaia streams: `gaia invoke markov --stream --data '{"tokens": 40, "delay_ms": 50}'`
prints the words as they come; `curl -N -H 'Accept: text/event-stream'` gets them as Server-Sent
Events. `delay_ms` (0…1000) paces the words like a model's per-token latency. Standard library only.
"""
import random
import re
import time

# The opening of Lewis Carroll's "Alice's Adventures in Wonderland" (1865, public domain).
TEXT = """
Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to
do: once or twice she had peeped into the book her sister was reading, but it had no pictures or
conversations in it, and what is the use of a book, thought Alice, without pictures or conversations?
So she was considering in her own mind (as well as she could, for the hot day made her feel very
sleepy and stupid), whether the pleasure of making a daisy-chain would be worth the trouble of
getting up and picking the daisies, when suddenly a White Rabbit with pink eyes ran close by her.
There was nothing so very remarkable in that; nor did Alice think it so very much out of the way to
hear the Rabbit say to itself, Oh dear! Oh dear! I shall be late! (when she thought it over
afterwards, it occurred to her that she ought to have wondered at this, but at the time it all
seemed quite natural); but when the Rabbit actually took a watch out of its waistcoat-pocket, and
looked at it, and then hurried on, Alice started to her feet, for it flashed across her mind that
she had never before seen a rabbit with either a waistcoat-pocket, or a watch to take out of it, and
burning with curiosity, she ran across the field after it, and fortunately was just in time to see
it pop down a large rabbit-hole under the hedge. In another moment down went Alice after it, never
once considering how in the world she was to get out again. The rabbit-hole went straight on like a
tunnel for some way, and then dipped suddenly down, so suddenly that Alice had not a moment to think
about stopping herself before she found herself falling down a very deep well.
"""

chain = {}
words = []


def init(context):
    global words
    words = re.findall(r"[\w'-]+|[.,;:!?()]", TEXT)
    for a, b, c in zip(words, words[1:], words[2:]):
        chain.setdefault((a.lower(), b.lower()), []).append(c)


def handle(payload, context):
    payload = payload if isinstance(payload, dict) else {}
    tokens = int(payload.get("tokens", 40))
    delay = float(payload.get("delay_ms", 0)) / 1000
    if not 1 <= tokens <= 10_000:
        raise ValueError(f"tokens must be between 1 and 10000, got {tokens}")
    if not 0 <= delay <= 1:
        raise ValueError(f"delay_ms must be between 0 and 1000, got {delay * 1000:g}")
    prompt = re.findall(r"[\w'-]+|[.,;:!?()]", str(payload.get("prompt", "")))
    return generate(prompt, tokens, delay, random.Random(payload.get("seed", 0)))


def generate(prompt, tokens, delay, rng):
    state = [w.lower() for w in prompt[-2:]]
    if tuple(state) not in chain:
        state = [w.lower() for w in rng.choice(list(chain))]
    for _ in range(tokens):
        if delay:
            time.sleep(delay)
        word = rng.choice(chain.get(tuple(state)) or words)
        state = [state[-1], word.lower()]
        yield word if word in ".,;:!?)" else " " + word
