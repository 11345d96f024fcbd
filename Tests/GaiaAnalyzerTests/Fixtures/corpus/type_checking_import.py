from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

def describe(t: torch.Tensor) -> str:
    return json.dumps({"shape": list(t.shape)})

def handle(payload, context):
    return {"echo": payload}
