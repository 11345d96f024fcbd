import io

import librosa
import numpy as np
import soundfile as sf

def handle(payload, context):
    signal, rate = sf.read(io.BytesIO(payload))
    mfcc = librosa.feature.mfcc(y=signal, sr=rate, n_mfcc=13)
    return {"mfcc_mean": np.mean(mfcc, axis=1).tolist()}
