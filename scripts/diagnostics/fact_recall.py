"""How many test-split facts a bundled model completes from its own pretraining form.

For each fact of data/synthetic/facts/test.jsonl whose support sentence does not start with the
answer ("The capital of Nisel is" → "Volesa"), the model reads the sentence up to the answer and
greedy decoding must give the answer's tokens exactly. This is the recall a chat adapter can draw
on: it answers in the same sentence forms (lib/data/synthetic/chat.ts).

    python3 scripts/diagnostics/fact_recall.py            # tiny and tiny-256
    python3 scripts/diagnostics/fact_recall.py /tmp/ckpt  # a checkpoint folder (a name with a /)

Results of 2026-12-02: results/diagnostics/fact_recall.md.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402

from tunebook.model import load_checkpoint  # noqa: E402


def recall(name: str) -> tuple[int, int]:
    model_dir = Path(name) if "/" in name else ROOT / "data/models" / name
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
    model = load_checkpoint(model_dir).eval()
    right = asked = 0
    with torch.no_grad():
        for line in open(ROOT / "data/synthetic/facts/test.jsonl"):
            d = json.loads(line)
            at = d["support"].find(d["correct_answer"])
            if at <= 0:
                continue
            prefix = d["support"][:at].rstrip()
            ids = [sp.bos_id()] + sp.encode(prefix)
            target = sp.encode(prefix + " " + d["correct_answer"])[len(ids) - 1:]
            logits = model(torch.tensor([ids + target]))[0]
            right += all(logits[len(ids) - 1 + k].argmax().item() == t for k, t in enumerate(target))
            asked += 1
    return right, asked


if __name__ == "__main__":
    torch.set_num_threads(2)
    for name in sys.argv[1:] or ["tiny", "tiny-256"]:
        r, n = recall(name)
        print(f"{name}: {r}/{n} test-split facts completed with the right answer")
