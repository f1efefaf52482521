"""Does tiny-256 copy from its context at all? Probes and corpora behind S2's diagnosis.

    python3 scripts/diagnostics/induction_probe.py items --out /tmp/lex      # lexical entailment items
    python3 scripts/diagnostics/induction_probe.py copy data/models/tiny-256 [MORE_CHECKPOINTS...]
    python3 scripts/diagnostics/induction_probe.py repeats --out /tmp/corpus-rep.jsonl [--mix CORPUS]
    python3 scripts/diagnostics/induction_probe.py repeats --out /tmp/corpus-rep50.jsonl --words 50 --docs 40000 \
      --min-words 5 --max-words 20 --seed 8

`items`: entailment items whose judgement needs no logic, only matching names against the premise
("A is taller than B. C is taller than D."; hypothesis a premise sentence word for word (yes), one
name swapped for an absent one, the pair reversed, or names from both sentences (no)); writes
train.jsonl (4,000) and test.jsonl (200) for `entailment_probe.py train --train … --test …`.
`copy`: for each checkpoint, (1) the loss per token on the second copy of 20 random whole-word
pieces repeated ("w1 … w20. w1 … w20.": near 0 with induction, near ln(number of words) without),
(2) the mean log-probability of a test item's hypothesis's last name after the premise and the
hypothesis's other words, per kind (a model that copies predicts the copied sentence's name).
`repeats`: a pretraining corpus of such word runs said twice (optionally interleaved with the
documents of another corpus) for a continued-pretraining phase (`python -m tunebook.pretrain --init`).
Results of 2026-12-02: results/diagnostics/s2_entailment.md.
"""
import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import sentencepiece as spm  # noqa: E402

TOKENIZER = ROOT / "data/models/tiny-256/tokenizer.model"
KINDS = ["copy-yes", "copy-yes", "copy-yes", "absent-no", "swap-no", "cross-no"]


def people():
    """The synthetic world's names (seed 1234), from the Deno generator."""
    import subprocess
    code = ('import { makeWorld } from "./lib/data/synthetic/world.ts";'
            "console.log(JSON.stringify(makeWorld(1234).people));")
    out = subprocess.run(["deno", "eval", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def item(rng, names, kind):
    a, b, c, d, e = rng.sample(names, 5)
    premise = f"{a} is taller than {b}. {c} is taller than {d}."
    x, y = rng.choice([(a, b), (c, d)])
    # Every kind's hypothesis is drawn (the dict is built whole), so the random stream, and with it
    # the committed results' items, does not depend on which kind was picked.
    h = {"copy-yes": (x, y), "absent-no": rng.choice([(x, e), (e, y)]), "swap-no": (y, x),
         "cross-no": rng.choice([(a, d), (c, b)])}[kind]
    return {"premise": premise, "hypothesis": f"{h[0]} is taller than {h[1]}.",
            "label": "yes" if kind == "copy-yes" else "no", "kind": kind}


def words(sp):
    """Whole-word pieces of the tokenizer (▁ + 2 or more letters)."""
    out = []
    for i in range(sp.get_piece_size()):
        p = sp.id_to_piece(i)
        if p.startswith("▁") and p[1:].isalpha() and len(p) > 2:
            out.append(p[1:])
    return out


def copy_probe(paths, test):
    import torch
    from tunebook.model import load_checkpoint
    sp = spm.SentencePieceProcessor(model_file=str(TOKENIZER))
    vocab = words(sp)
    for path in paths:
        rng = random.Random(99)
        m = load_checkpoint(Path(path)).eval()
        total, count, per_kind = 0.0, 0, {}
        with torch.no_grad():
            for _ in range(20):
                run = " ".join(rng.choice(vocab) for _ in range(20)) + "."
                first = [sp.bos_id()] + sp.encode(run)
                ids = first + sp.encode(run)
                lp = torch.log_softmax(m(torch.tensor([ids]))[0], -1)
                total += sum(-lp[i - 1, ids[i]].item() for i in range(len(first) + 1, len(ids)))
                count += len(ids) - len(first) - 1
            for d in test:
                ws = d["hypothesis"].rstrip(".").split(" ")
                pre = [sp.bos_id()] + sp.encode(d["premise"] + " " + " ".join(ws[:-1]))
                full = [sp.bos_id()] + sp.encode(d["premise"] + " " + d["hypothesis"].rstrip("."))
                lp = torch.log_softmax(m(torch.tensor([full]))[0], -1)
                per_kind.setdefault(d["kind"], []).append(
                    sum(lp[i - 1, full[i]].item() for i in range(len(pre), len(full))))
        print(json.dumps({"checkpoint": str(path), "words": len(vocab),
                          "repeat_loss_per_token": round(total / count, 3),
                          "last_name_logprob": {k: round(sum(v) / len(v), 2) for k, v in sorted(per_kind.items())}}))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["items", "copy", "repeats"])
    p.add_argument("checkpoints", nargs="*", help="copy: checkpoint folders")
    p.add_argument("--out", help="items: folder; repeats: corpus file")
    p.add_argument("--test", default="/tmp/lex/test.jsonl", help="copy: items to probe (from `items`)")
    p.add_argument("--mix", help="repeats: interleave with this corpus's documents (first 30,000, shuffled)")
    p.add_argument("--words", type=int, help="repeats: draw runs from this many whole-word pieces (default: all)")
    p.add_argument("--docs", type=int, default=20000, help="repeats: documents without --mix")
    p.add_argument("--min-words", type=int, help="repeats: shortest run (default 10; 8 with --mix)")
    p.add_argument("--max-words", type=int, help="repeats: longest run (default 50; 40 with --mix)")
    p.add_argument("--seed", type=int, help="repeats: random seed (default 6; 5 with --mix)")
    a = p.parse_args()
    if a.mode == "items":
        if not a.out:
            p.error("items needs --out FOLDER")
        names, out = people(), Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        for split, seed, n in (("train", 1, 4000), ("test", 2, 200)):
            rng = random.Random(seed)
            rows = [item(rng, names, rng.choice(KINDS)) for _ in range(n)]
            (out / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        print(f"wrote {out}/train.jsonl and {out}/test.jsonl")
    elif a.mode == "copy":
        if not a.checkpoints:
            p.error("copy needs checkpoint folders")
        copy_probe(a.checkpoints, [json.loads(line) for line in open(a.test) if line.strip()])
    else:
        if not a.out:
            p.error("repeats needs --out FILE")
        sp = spm.SentencePieceProcessor(model_file=str(TOKENIZER))
        vocab = words(sp)
        rng = random.Random(a.seed if a.seed is not None else 6 if not a.mix else 5)
        if a.words:
            vocab = rng.sample(vocab, a.words)
        lo, hi = (a.min_words or (8 if a.mix else 10)), (a.max_words or (40 if a.mix else 50))
        docs = []
        if a.mix:
            docs = [line.rstrip("\n") for line in open(a.mix) if line.strip()]
            rng.shuffle(docs)
            docs = docs[:30000]
        with open(a.out, "w") as f:
            for i in range(len(docs) or a.docs):
                if docs:
                    f.write(docs[i] + "\n")
                run = " ".join(rng.choice(vocab) for _ in range(rng.randint(lo, hi)))
                f.write(json.dumps({"text": f"{run}. {run}."}) + "\n")
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
