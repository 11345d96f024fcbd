import io

import pandas as pd

def handle(payload, context):
    frame = pd.read_csv(io.BytesIO(payload))
    summary = frame.groupby("region")["revenue"].agg(["sum", "mean", "count"])
    return summary.reset_index().to_dict(orient="records")
