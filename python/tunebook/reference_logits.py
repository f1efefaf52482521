"""Next-token log-probabilities from the pure-torch model, for parity tests against GGUF runtimes.

    python3 -m tunebook.reference_logits MODEL_DIR PROMPT [PROMPT ...]

Prints one JSON object: {"prompts": [{"text", "ids", "logprobs"}]}, where ids start with the BOS
token when the tokenizer adds one (tokenizer.model, or tokenizer.json: text_encoder.py) and logprobs
is the log-softmax over the vocabulary after the last token.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from .model import load_checkpoint
from .text_encoder import load_text_encoder


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    model_dir = Path(sys.argv[1])
    model, enc = load_checkpoint(model_dir), load_text_encoder(model_dir)
    out = []
    with torch.no_grad():
        for text in sys.argv[2:]:
            ids = ([enc.bos] if enc.add_bos else []) + enc.encode(text)
            logits = model(torch.tensor([ids]))[0, -1].double()
            out.append({"text": text, "ids": ids, "logits": logits.tolist(), "logprobs": logits.log_softmax(-1).tolist()})
    json.dump({"prompts": out}, sys.stdout)


if __name__ == "__main__":
    main()
