"""Next-token log-probabilities from the pure-torch model, for parity tests against GGUF runtimes.

    python3 -m tunebook.reference_logits MODEL_DIR PROMPT [PROMPT ...]

Prints one JSON object: {"prompts": [{"text", "ids", "logprobs"}]}, where ids include the BOS
token and logprobs is the log-softmax over the vocabulary after the last token.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from .model import load_checkpoint
from .tokenizer import load_tokenizer


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    model_dir = Path(sys.argv[1])
    model, sp = load_checkpoint(model_dir), load_tokenizer(model_dir)
    out = []
    with torch.no_grad():
        for text in sys.argv[2:]:
            ids = [sp.bos_id()] + sp.encode(text)
            logits = model(torch.tensor([ids]))[0, -1].double()
            out.append({"text": text, "ids": ids, "logits": logits.tolist(), "logprobs": logits.log_softmax(-1).tolist()})
    json.dump({"prompts": out}, sys.stdout)


if __name__ == "__main__":
    main()
