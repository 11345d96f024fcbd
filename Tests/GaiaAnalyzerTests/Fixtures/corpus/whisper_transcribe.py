import tempfile

import whisper

model = whisper.load_model("base")

def handle(payload, context):
    with tempfile.NamedTemporaryFile(suffix=".wav") as audio:
        audio.write(payload)
        audio.flush()
        result = model.transcribe(audio.name)
    return {"text": result["text"], "language": result["language"]}
