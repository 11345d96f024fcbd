from helpers import slugify, word_count

def handle(payload, context):
    title = payload["title"]
    return {"slug": slugify(title), "words": word_count(payload.get("body", ""))}
