import html
import re

def handle(payload, context):
    text = html.escape(payload["markdown"])
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
