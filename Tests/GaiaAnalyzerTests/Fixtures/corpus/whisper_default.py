# Modelled on openai/whisper's README (load_model uses CUDA when available).
import whisper

model = whisper.load_model("small")


def handle(payload, context):
    return model.transcribe(payload["path"])["text"]
