"""Why S2 (entailment) does not gain on tiny-256: probes of the base model and fine-tuning sweeps.

Needs the entailment items as JSONL (premise, hypothesis, label, kind): the test split is the
task's own (data/synthetic/entailment/test.jsonl); a train split larger than the committed 1,000
rows comes from the same generator (test and validation stay the same items):

    deno eval 'import { makeSplits } from "./lib/data/synthetic/items.ts";
      const s = makeSplits("entailment", { train: 20000 });
      Deno.writeTextFileSync("/tmp/ent-train.jsonl", s.train.map((x) => JSON.stringify(x)).join("\\n"));'

    python3 scripts/diagnostics/entailment_probe.py probe
    python3 scripts/diagnostics/entailment_probe.py train --train /tmp/ent-train.jsonl --n 900 --steps 200

`probe`: (1) greedy completion of the prose conclusion the pretraining taught ("<premise> So <n> is
a") for the entailed kinds; (2) " yes" vs " no" after three prompt forms (two pretraining quiz forms,
the eval prompt). `train`: a LoRA (or, with --full, every parameter) trained on the eval prompt with
cross-entropy over {" yes", " no"} at the answer position, accuracy per kind on the test split every
quarter of the steps; `--scratch` trains a fresh model of the same shape instead (can the shape
learn the judgement from direct supervision at all?). Results of 2026-12-02: results/diagnostics/s2_entailment.md.
"""
import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402

from tunebook.lora import add_lora  # noqa: E402
from tunebook.hf_files import read_config  # noqa: E402
from tunebook.model import Llama, LlamaConfig, load_checkpoint  # noqa: E402

MODEL = ROOT / "data/models/tiny-256"
TEST = ROOT / "data/synthetic/entailment/test.jsonl"


def eval_prompt(d):
    return (f"Premise: {d['premise']}\nHypothesis: {d['hypothesis']}\n"
            "Question: Does the premise entail the hypothesis? Answer yes or no.\nAnswer:")


FORMS = {
    "quiz (pretraining)": lambda d: f"Premise: {d['premise']} Does it follow that {d['hypothesis'][:-1]}? Answer:",
    "hypothesis/entailed (pretraining)": lambda d: f"{d['premise']} Hypothesis: {d['hypothesis']} Entailed:",
    "eval prompt": eval_prompt,
}


def load(path):
    return [json.loads(line) for line in open(path)]


def answer_ids(sp):
    return sp.encode("Answer: yes")[-1], sp.encode("Answer: no")[-1]


def per_kind(items, predict):
    ok, kinds = 0, {}
    for d, p in zip(items, predict):
        right = p == d["label"]
        ok += right
        k = kinds.setdefault(d["kind"], [0, 0])
        k[0] += right
        k[1] += 1
    return ok / len(items), {k: f"{a}/{b}" for k, (a, b) in sorted(kinds.items())}


def probe(model, sp, test):
    yes, no = answer_ids(sp)
    res = {}
    with torch.no_grad():
        for d in test:
            if d["kind"] not in ("all", "taller-yes"):
                continue
            words = d["hypothesis"].rstrip(".").split(" ")
            prefix = f"{d['premise']} So {' '.join(words[:-1])}"
            ids = [sp.bos_id()] + sp.encode(prefix)
            target = sp.encode(prefix + " " + words[-1])[len(ids) - 1:]
            logits = model(torch.tensor([ids + target]))[0]
            right = all(logits[len(ids) - 1 + i].argmax().item() == t for i, t in enumerate(target))
            r = res.setdefault(d["kind"], [0, 0])
            r[0] += right
            r[1] += 1
        print("prose conclusion, greedy:", {k: f"{a}/{b}" for k, (a, b) in res.items()})
        for name, form in FORMS.items():
            preds = []
            for d in test:
                lg = model(torch.tensor([[sp.bos_id()] + sp.encode(form(d))]))[0, -1]
                preds.append("yes" if lg[yes] > lg[no] else "no")
            print(f"{name}:", per_kind(test, preds))


def train(model, sp, test, a):
    rows = load(a.train)[: a.n]
    if not (a.full or a.scratch):
        for q in model.parameters():
            q.requires_grad_(False)
        add_lora(model, a.r, 2 * a.r, a.targets.split(","))
    yes, no = answer_ids(sp)

    def batch(ds):
        seqs = [[sp.bos_id()] + sp.encode(eval_prompt(d)) for d in ds]
        ids = torch.zeros(len(ds), max(map(len, seqs)), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
        return ids, torch.tensor([len(s) - 1 for s in seqs])

    def evaluate():
        model.eval()
        preds = []
        with torch.no_grad():
            for i in range(0, len(test), 50):
                ids, last = batch(test[i:i + 50])
                lg = model(ids)[torch.arange(len(last)), last]
                preds += ["yes" if lg[j, yes] > lg[j, no] else "no" for j in range(len(last))]
        model.train()
        return per_kind(test, preds)

    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1, (s + 1) / 10) * 0.5 * (1 + math.cos(math.pi * s / a.steps)))
    print("step 0:", evaluate())
    rng, t0 = random.Random(0), time.time()
    for step in range(a.steps):
        ds = rng.sample(rows, a.bs)
        ids, last = batch(ds)
        lg = model(ids)[torch.arange(len(ds)), last][:, [yes, no]]
        loss = torch.nn.functional.cross_entropy(lg, torch.tensor([0 if d["label"] == "yes" else 1 for d in ds]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % max(1, a.steps // 4) == 0:
            print(f"step {step + 1}: loss {loss.item():.3f}", evaluate(), f"{time.time() - t0:.0f} s", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["probe", "train"])
    p.add_argument("--train", help="entailment items (JSONL) to train on")
    p.add_argument("--test", default=str(TEST), help="entailment items (JSONL) to measure on")
    p.add_argument("--n", type=int, default=900, help="train rows used")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--r", type=int, default=8, help="LoRA rank (alpha = 2r)")
    p.add_argument("--bs", type=int, default=16)
    p.add_argument("--targets", default="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
    p.add_argument("--full", action="store_true", help="train every parameter instead of a LoRA")
    p.add_argument("--model", default=str(MODEL), help="checkpoint folder to probe or train (default: the bundled tiny-256)")
    p.add_argument("--scratch", action="store_true",
                   help="train every parameter of a fresh model of tiny-256's shape (random weights, seed 0)")
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model_dir = Path(a.model)
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
    if a.scratch:
        model = Llama(LlamaConfig.from_hf(read_config(model_dir), str(model_dir / "config.json")))
    else:
        model = load_checkpoint(model_dir)
    test = load(a.test)
    if a.mode == "probe":
        probe(model.eval(), sp, test)
    else:
        if not a.train:
            p.error("train needs --train FILE (see the module docstring)")
        train(model, sp, test, a)


if __name__ == "__main__":
    main()
