import io
from pypdf import PdfReader

def handle(payload, context):
    reader = PdfReader(io.BytesIO(payload))
    return {"pages": len(reader.pages), "text": "\n".join(p.extract_text() or "" for p in reader.pages)}
