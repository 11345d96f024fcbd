# Modelled on GoogleCloudPlatform/python-docs-samples (functions/http) with NLTK's VADER sentiment.
import functions_framework
from nltk.sentiment import SentimentIntensityAnalyzer

analyzer = SentimentIntensityAnalyzer()


@functions_framework.http
def sentiment(request):
    request_json = request.get_json(silent=True)
    if not request_json or "text" not in request_json:
        return ("send {\"text\": ...}", 400)
    return analyzer.polarity_scores(request_json["text"])
