# Modelled on runpod-workers/worker-faster_whisper (src/predict.py), run on CPU with int8 weights.
import runpod
from faster_whisper import WhisperModel

model = WhisperModel("base", device="cpu", compute_type="int8")


def handler(job):
    segments, info = model.transcribe(job["input"]["audio_path"], beam_size=5)
    return {"language": info.language, "text": " ".join(segment.text for segment in segments)}


runpod.serverless.start({"handler": handler})
