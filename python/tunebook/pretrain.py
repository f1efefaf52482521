"""Pretrain the bundled tiny Llama on the synthetic corpus, on CPU, reproducibly.

    python3 -m tunebook.pretrain --corpus .cache/tiny/corpus.jsonl --out data/models/tiny

Trains the SentencePiece tokenizer, then the model (AdamW, warmup + cosine schedule, random
windows over the packed token stream), and writes a Hugging Face checkpoint directory plus
`training.json` (parameter count, tokens seen, losses, wall time). Progress goes to stdout as
JSON-line events (`step`, `eval`, `done`).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .events import emit
from .examples import IGNORE
from .model import Llama, LlamaConfig, save_checkpoint
from .tokenizer import train_tokenizer, write_hf_tokenizer_files


def read_corpus(corpus: Path) -> list[str]:
    """Documents of a JSONL corpus (one {"text": ...} per line)."""
    docs = []
    with open(corpus, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line)["text"])
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise SystemExit(f"{corpus}:{n}: expected a JSON object with a 'text' field ({e})") from e
    return docs


def pack_corpus(corpus: Path, sp) -> np.ndarray:
    """Every document as <s> ids </s>, concatenated."""
    lines = read_corpus(corpus)
    ids: list[int] = []
    for doc in sp.encode(lines):
        ids.append(sp.bos_id())
        ids.extend(doc)
        ids.append(sp.eos_id())
    return np.asarray(ids, dtype=np.int64)


def lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def repeat_row(seq: int, vocab: int, gen: torch.Generator, shortest: int, longest: int,
               bos: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """One row of induction practice: runs of random token ids (3 … vocab-1), each said twice after
    <s>, packed to seq + 1 ids. Targets are the next ids, except on each run's first copy (and on <s>),
    where nothing can be predicted: those are IGNORE, so the row teaches copying and nothing else."""
    ids: list[int] = []
    scored: list[bool] = []
    while len(ids) < seq + 1:
        n = int(torch.randint(shortest, longest + 1, (1,), generator=gen))
        run = (torch.randint(3, vocab, (n,), generator=gen)).tolist()
        ids += [bos] + run + run
        scored += [False] * (n + 1) + [True] * n
    x = torch.tensor(ids[: seq + 1])
    keep = torch.tensor(scored[1 : seq + 1])
    return x[:-1], torch.where(keep, x[1:], torch.full_like(x[1:], IGNORE))


def batches(stream: np.ndarray, batch: int, seq: int, gen: torch.Generator, repeat_rows: float = 0.0,
            vocab: int = 0, run_words: tuple[int, int] = (4, 24), bos: int = 1):
    """Random windows over the packed stream; with repeat_rows > 0, each row is instead a
    `repeat_row` with that probability (drawn from the same generator, so a run reproduces)."""
    data = torch.from_numpy(stream)
    while True:
        starts = torch.randint(0, len(stream) - seq - 1, (batch,), generator=gen)
        x = torch.stack([data[s : s + seq] for s in starts])
        y = torch.stack([data[s + 1 : s + seq + 1] for s in starts])
        if repeat_rows > 0:
            for row in torch.nonzero(torch.rand(batch, generator=gen) < repeat_rows).flatten().tolist():
                x[row], y[row] = repeat_row(seq, vocab, gen, *run_words, bos=bos)
        yield x, y


@torch.no_grad()
def eval_loss(model: Llama, stream: np.ndarray, seq: int, n: int = 16) -> float:
    model.eval()
    data = torch.from_numpy(stream)
    xs = [data[i * seq : (i + 1) * seq] for i in range(min(n, (len(stream) - 1) // seq))]
    ys = [data[i * seq + 1 : (i + 1) * seq + 1] for i in range(len(xs))]
    device = next(model.parameters()).device
    logits = model(torch.stack(xs).to(device))
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.stack(ys).to(device).reshape(-1)).item()
    model.train()
    return loss


@torch.no_grad()
def induction_loss(model: Llama, vocab: int, n: int = 8, half: int = 48, seed: int = 7) -> float:
    """Mean loss on the second copy of random token runs repeated twice: near ln(vocab) without
    induction heads, near 0 once the model copies from its context."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    run = torch.randint(3, vocab, (n, half), generator=gen)
    x = torch.cat([run, run], dim=1)
    device = next(model.parameters()).device
    logits = model(x[:, :-1].to(device))[:, half - 1 :]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, half:].to(device).reshape(-1)).item()
    model.train()
    return loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--hidden-size", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--intermediate-size", type=int, default=352)
    ap.add_argument("--tie-embeddings", action="store_true", help="share the input embeddings with the output head")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="torch device (cpu, cuda); the bundled model is trained on cpu")
    ap.add_argument("--tokenizer", type=Path, help="reuse this tokenizer.model instead of training one")
    ap.add_argument("--init", type=Path, help="continue from this checkpoint folder (a second pretraining phase) instead of random weights")
    ap.add_argument("--repeat-rows", type=float, default=0.0,
                    help="fraction of batch rows that are induction practice (random token runs said twice, loss on the second copy)")
    ap.add_argument("--run-length", type=int, nargs=2, default=(4, 24), metavar=("MIN", "MAX"),
                    help="tokens per run in induction-practice rows")
    ap.add_argument("--command", default="deno task build:tiny", help="the command recorded in training.json")
    a = ap.parse_args()
    if not a.corpus.is_file():
        raise SystemExit(f"{a.corpus}: corpus not found; run `deno task synth --corpus {a.corpus}` first")

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    if a.tokenizer:
        import shutil

        import sentencepiece as spm

        a.out.mkdir(parents=True, exist_ok=True)
        if a.tokenizer.resolve() != (a.out / "tokenizer.model").resolve():
            shutil.copy(a.tokenizer, a.out / "tokenizer.model")
        write_hf_tokenizer_files(a.out)
        sp = spm.SentencePieceProcessor(model_file=str(a.out / "tokenizer.model"))
    else:
        sp = train_tokenizer(a.corpus, a.out, a.vocab_size, seed=a.seed)
    stream = pack_corpus(a.corpus, sp)
    n_val = len(stream) // 50
    train, val = stream[:-n_val], stream[-n_val:]
    emit("data", tokens=int(len(stream)), train_tokens=int(len(train)), val_tokens=int(n_val), tokenizer_s=round(time.time() - t0, 1))

    cfg = LlamaConfig(
        vocab_size=sp.get_piece_size(),
        hidden_size=a.hidden_size,
        intermediate_size=a.intermediate_size,
        num_hidden_layers=a.layers,
        num_attention_heads=a.heads,
        num_key_value_heads=a.kv_heads,
        tie_word_embeddings=a.tie_embeddings,
    )
    if a.init:
        from .model import load_checkpoint

        model = load_checkpoint(a.init).to(a.device)
        if model.cfg.vocab_size != cfg.vocab_size:
            raise SystemExit(f"{a.init}: vocabulary {model.cfg.vocab_size} is not the tokenizer's {cfg.vocab_size}; pass --tokenizer {a.init}/tokenizer.model")
        cfg = model.cfg
    else:
        model = Llama(cfg).to(a.device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(a.seed)
    if not 0.0 <= a.repeat_rows <= 1.0:
        raise SystemExit(f"--repeat-rows {a.repeat_rows}: give a fraction between 0 and 1")
    it = batches(train, a.batch, a.seq, gen, a.repeat_rows, cfg.vocab_size, tuple(a.run_length), sp.bos_id())
    history = []
    t_train = time.time()
    for step in range(a.steps):
        lr = lr_at(step, a.steps, a.lr, a.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = next(it)
        x, y = x.to(a.device), y.to(a.device)
        t = time.time()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), y.reshape(-1), ignore_index=IGNORE)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 10 == 0 or step == a.steps - 1:
            emit("step", step=step, loss=round(loss.item(), 4), lr=lr, tokens_per_s=round(a.batch * a.seq / (time.time() - t)))
        if (step + 1) % a.eval_every == 0 or step == a.steps - 1:
            vl = eval_loss(model, val, a.seq)
            il = induction_loss(model, cfg.vocab_size)
            history.append({"step": step + 1, "train_loss": round(loss.item(), 4), "val_loss": round(vl, 4),
                            "induction_loss": round(il, 4)})
            emit("eval", step=step + 1, val_loss=round(vl, 4), induction_loss=round(il, 4))
    save_checkpoint(model.cpu(), a.out)
    stats = {
        "command": a.command,
        "parameters": model.num_parameters(),
        "config": asdict(cfg),
        "corpus_tokens": int(len(stream)),
        "training_tokens": a.steps * a.batch * a.seq,
        "steps": a.steps,
        "batch": a.batch,
        "seq": a.seq,
        "lr": a.lr,
        "seed": a.seed,
        "repeat_rows": a.repeat_rows,
        "run_length": list(a.run_length),
        "torch": torch.__version__,
        "threads": a.threads,
        "train_seconds": round(time.time() - t_train, 1),
        "history": history,
    }
    if a.init:
        # The phases before this one, oldest first, so the card can report every token seen.
        prev = json.loads((a.init / "training.json").read_text())
        stats["phases"] = prev.pop("phases", []) + [prev]
        stats["init"] = str(a.init)
    (a.out / "training.json").write_text(json.dumps(stats, indent=2) + "\n")
    emit("done", out=str(a.out), parameters=stats["parameters"], train_seconds=stats["train_seconds"])


if __name__ == "__main__":
    main()
