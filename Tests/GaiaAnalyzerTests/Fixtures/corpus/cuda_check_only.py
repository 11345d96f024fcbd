# Modelled on a health/info endpoint as in pytorch/serve's examples: reports the device, does no work.
import platform

import torch


def handle(payload, context):
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "gpus": torch.cuda.device_count(),
    }
