# Modelled on SYSTRAN/faster-whisper's README ("Run on CPU with INT8").
from faster_whisper import WhisperModel

model = WhisperModel("base", device="cpu", compute_type="int8")


def handle(payload, context):
    segments, info = model.transcribe(payload["path"], beam_size=5)
    return {"language": info.language, "text": " ".join(s.text for s in segments)}
