from faster_whisper import WhisperModel

model = WhisperModel("small", device="cuda", compute_type="float16")

def handle(payload, context):
    segments, info = model.transcribe(payload["path"], beam_size=5)
    return {"language": info.language, "text": " ".join(s.text for s in segments)}
