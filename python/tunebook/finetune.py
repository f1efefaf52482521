"""LoRA fine-tuning: one trainer, two backends, one config and event protocol.

    python3 -m tunebook.finetune CONFIG.json

The config (written and validated by tunebook's TypeScript side, lib/train/config.ts) names the
base model (a Hugging Face checkpoint directory), JSONL files of {"prompt", "completion"} rows,
the LoRA settings and the schedule. Backends:

- `torch`: the pure-torch Llama (python/tunebook/model.py) with LoRA layers; CPU, needs only torch.
- `hf`: transformers + peft (Unsloth's FastLanguageModel when installed); the path for real models
  on a GPU, with fp16/bf16, 4-bit bases (bitsandbytes) and gradient checkpointing.

Both write a PEFT adapter (adapter_config.json + adapter_model.safetensors) to `<output_dir>/adapter`,
checkpoints to `<output_dir>/checkpoints/step-N` (checkpoint.py: atomic, verified, resumed from
automatically and bit for bit), and print one JSON event per line on stdout: start, resume, step,
eval, checkpoint, note, warning, done — or error, with a message to act on.

A run folder belongs to one run: the trainer locks it (run_lock.py), removes what an interrupted
run left half written, and resumes only a checkpoint whose identity (run_identity.py: the config
keys that shape the weights, and the data's SHA-256) matches; otherwise it refuses, naming what
differs, before it writes anything. Once it starts it records `<output_dir>/config.json` and the
rows it trains on (`<output_dir>/data/train.jsonl`, `val.jsonl`). Row errors name the file given
in the config (the user's own) with its line and field.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .atomic import remove_dir, write_dir_atomic, write_file_atomic
from .checkpoint import (FORMAT, capture_rng, clean_leftovers, discard_checkpoints, latest_checkpoint, load_trainer_state,
                         restore_rng, save_checkpoint)
from .events import emit, fail
from .faults import fault_point
from .run_identity import identity_changes, mismatch_message, run_identity
from .run_lock import RunLocked, lock_run_dir
from .suggest import closest_name

KNOWN_KEYS = {
    "backend", "base_model", "train_file", "val_file", "output_dir", "lora", "lr", "schedule", "warmup_steps",
    "max_steps", "epochs", "batch_size", "grad_accum", "max_seq_len", "packing", "completion_only_loss", "seed",
    "eval_every", "save_every", "precision", "load_in_4bit", "gradient_checkpointing", "threads", "resume",
    "device", "max_checkpoints",
}
LORA_KEYS = {"r", "alpha", "dropout", "target_modules"}
ROW_FIELDS = ("prompt", "completion")
IGNORE = -100


def load_config(path: Path) -> dict:
    try:
        cfg = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        fail(f"{path}: cannot read the fine-tuning config ({e})")
    unknown = set(cfg) - KNOWN_KEYS
    if unknown:
        fail(f"{path}: unknown config keys {sorted(unknown)}{_did_you_mean(unknown, KNOWN_KEYS)}; known: {sorted(KNOWN_KEYS)}")
    unknown = set(cfg.get("lora", {})) - LORA_KEYS
    if unknown:
        fail(f"{path}: unknown lora keys {sorted(unknown)}{_did_you_mean(unknown, LORA_KEYS)}; known: {sorted(LORA_KEYS)}")
    return cfg


def _did_you_mean(unknown: set[str], known: set[str]) -> str:
    hints = [f"{k} → {near}" for k in sorted(unknown) if (near := closest_name(k, sorted(known)))]
    return f" (did you mean {', '.join(hints)}?)" if hints else ""


def _describe(value) -> str:
    """A JSON value as a user would name it: 'a number (123)', 'null', 'a list'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({json.dumps(value)})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def read_rows(path: Path) -> tuple[list[dict], bytes]:
    """({"prompt", "completion"} rows, the file's bytes); a bad row fails with file:line, field and what is expected."""
    if not path.is_file():
        fail(f"{path}: training data not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        fail(f"{path}:{line}: not UTF-8 text ({e.reason}); save the file as UTF-8")
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            fail(f"{path}:{n}: not valid JSON ({e}); fix or remove that row")
        if not isinstance(row, dict):
            fail(f'{path}:{n}: expected a JSON object with string fields "prompt" and "completion", got {_describe(row)}')
        for field in ROW_FIELDS:
            if field not in row:
                near = [k for k in row if k not in ROW_FIELDS and closest_name(k, [field])]
                hint = f'; it has "{near[0]}": did you mean "{field}"?' if near else f" (it has: {', '.join(sorted(row)) or 'no fields'})"
                fail(f'{path}:{n}: field "{field}" is missing{hint}; each row needs string fields "prompt" and "completion"')
            if not isinstance(row[field], str):
                fail(f'{path}:{n}: field "{field}" is {_describe(row[field])}; expected a string (e.g. "{field}": "...")')
        rows.append(row)
    if not rows:
        fail(f"{path}: no rows; curate or export some training data first")
    return rows, raw


def encode_rows(rows: list[dict], encode, bos: int | None, eos: int | None, max_len: int, completion_only: bool, where: str):
    """Token ids and labels; the prompt/completion boundary is cut as lm-eval does it."""
    out, dropped = [], 0
    for n, r in enumerate(rows, 1):
        prompt = encode(r["prompt"])
        whole = encode(r["prompt"] + r["completion"])
        ids = ([bos] if bos is not None else []) + whole + ([eos] if eos is not None else [])
        n_prompt = len(prompt) + (1 if bos is not None else 0)
        if len(ids) > max_len:
            dropped += 1
            continue
        labels = [IGNORE] * n_prompt + ids[n_prompt:] if completion_only else list(ids)
        out.append((ids, labels))
    if not out:
        fail(f"{where}: every row is longer than max_seq_len={max_len} tokens; raise max_seq_len")
    return out, dropped


def pack(examples, max_len: int):
    """Concatenate examples into rows of at most max_len tokens (packing)."""
    rows, ids, labels = [], [], []
    for i, l in examples:
        if len(ids) + len(i) > max_len and ids:
            rows.append((ids, labels))
            ids, labels = [], []
        ids, labels = ids + i, labels + l
    if ids:
        rows.append((ids, labels))
    return rows


def collate(batch, pad_id: int):
    width = max(len(i) for i, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    for k, (i, l) in enumerate(batch):
        ids[k, : len(i)] = torch.tensor(i)
        labels[k, : len(l)] = torch.tensor(l)
    return ids, labels


class DataOrder:
    """Which example comes next: shuffled passes over the examples (a fresh permutation per epoch,
    from a generator seeded with the run's seed), resumable exactly from state_dict()."""

    def __init__(self, n: int, seed: int):
        self.n, self.rng, self.order = n, random.Random(seed), []

    def next(self) -> int:
        if not self.order:
            self.order = self.rng.sample(range(self.n), self.n)
        return self.order.pop()

    def state_dict(self) -> dict:
        return {"n": self.n, "rng": self.rng.getstate(), "order": list(self.order)}

    def load_state_dict(self, state: dict) -> None:
        if state["n"] != self.n:
            raise ValueError(f"the checkpoint's data order is over {state['n']} examples, this run has {self.n}")
        self.rng.setstate(state["rng"])
        self.order = list(state["order"])


def lr_at(step: int, total: int, cfg: dict) -> float:
    lr, warm = cfg["lr"], cfg.get("warmup_steps", 0)
    if step < warm:
        return lr * (step + 1) / warm
    if cfg.get("schedule", "cosine") == "constant":
        return lr
    progress = (step - warm) / max(1, total - warm)
    if cfg["schedule"] == "linear":
        return lr * (1 - progress)
    return lr * 0.5 * (1 + math.cos(math.pi * progress))


class TorchBackend:
    """The pure-torch Llama with LoRA layers (CPU)."""

    def __init__(self, cfg: dict):
        from .lora import add_lora
        from .model import load_checkpoint
        from .tokenizer import load_tokenizer

        torch.set_num_threads(cfg.get("threads", 2))
        self.device = cfg.get("device", "cpu")
        self.model = load_checkpoint(cfg["base_model"]).to(self.device).train()  # train mode: LoRA dropout is on
        self.sp = load_tokenizer(cfg["base_model"])
        lora = cfg["lora"]
        self.trainable = add_lora(self.model, lora["r"], lora["alpha"], lora["target_modules"], lora.get("dropout", 0.0))
        self.total = sum(p.numel() for p in self.model.parameters())
        self.bos, self.eos, self.pad = self.sp.bos_id(), self.sp.eos_id(), self.sp.eos_id()
        self.encode = self.sp.encode

    def loss(self, ids, labels):
        logits = self.model(ids.to(self.device))
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), labels[:, 1:].reshape(-1).to(self.device), ignore_index=IGNORE)

    def parameters(self):
        return [p for p in self.model.parameters() if p.requires_grad]

    def save_adapter(self, out: Path, cfg: dict) -> None:
        from .lora import save_peft_adapter

        lora = cfg["lora"]
        save_peft_adapter(self.model, out, base_model=str(cfg["base_model"]), r=lora["r"], alpha=lora["alpha"],
                          dropout=lora.get("dropout", 0.0), target_modules=lora["target_modules"])

    def load_adapter(self, path: Path) -> None:
        from .lora import PEFT_PREFIX, read_peft_adapter

        _, tensors = read_peft_adapter(path)
        own = dict(self.model.named_parameters())
        for name, t in tensors.items():
            mine = own.get(name[len(PEFT_PREFIX):])
            if mine is None or mine.shape != t.shape:
                raise ValueError(f"{path}: tensor {name} {tuple(t.shape)} does not fit this model's LoRA "
                                 f"({tuple(mine.shape) if mine is not None else 'no such module'})")
            mine.data.copy_(t)


class HfBackend:
    """transformers + peft (Unsloth when installed) for real models on a GPU."""

    def __init__(self, cfg: dict):
        try:
            import peft
            import transformers
        except ImportError as e:
            fail(f"backend 'hf' needs transformers and peft ({e}); pip install -r python/requirements.txt, or use backend 'torch'")
        self.device = cfg.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
        precision = cfg.get("precision", "fp32")
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
        kwargs = {"torch_dtype": torch.float32 if precision == "fp16" else dtype}
        if cfg.get("load_in_4bit"):
            try:
                import bitsandbytes  # noqa: F401

                kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
                    load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float16 if precision == "fp16" else dtype)
            except ImportError:
                emit("warning", message="load_in_4bit requested but bitsandbytes is not installed: loading the base unquantized")
        self.tok = transformers.AutoTokenizer.from_pretrained(cfg["base_model"])
        self.model = transformers.AutoModelForCausalLM.from_pretrained(cfg["base_model"], **kwargs)
        if "quantization_config" not in kwargs:
            self.model.to(self.device)
        if cfg.get("gradient_checkpointing"):
            self.model.gradient_checkpointing_enable()
            self.model.enable_input_require_grads()
        lora = cfg["lora"]
        self.model = peft.get_peft_model(self.model, peft.LoraConfig(
            r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora.get("dropout", 0.0),
            target_modules=lora["target_modules"], task_type="CAUSAL_LM", bias="none"))
        if precision == "fp16":
            for p in self.model.parameters():
                if p.requires_grad:
                    p.data = p.data.float()
        self.autocast = precision in ("fp16", "bf16") and self.device == "cuda"
        self.dtype = dtype
        self.trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        self.total = sum(p.numel() for p in self.model.parameters())
        self.bos, self.eos = self.tok.bos_token_id, self.tok.eos_token_id
        self.pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.eos
        self.encode = lambda text: self.tok(text, add_special_tokens=False)["input_ids"]

    def loss(self, ids, labels):
        with torch.autocast("cuda", dtype=self.dtype, enabled=self.autocast):
            logits = self.model(input_ids=ids.to(self.device)).logits
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), labels[:, 1:].reshape(-1).to(self.device), ignore_index=IGNORE)

    def parameters(self):
        return [p for p in self.model.parameters() if p.requires_grad]

    def save_adapter(self, out: Path, cfg: dict) -> None:
        self.model.save_pretrained(str(out), safe_serialization=True)

    def load_adapter(self, path: Path) -> None:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        set_peft_model_state_dict(self.model, load_file(str(path / "adapter_model.safetensors")))


def evaluate(backend, examples, batch_size: int, pad: int) -> float:
    """Validation loss (token-weighted), with dropout off; draws no random numbers."""
    was_training = backend.model.training
    backend.model.eval()
    losses, weights = [], []
    try:
        with torch.no_grad():
            for i in range(0, len(examples), batch_size):
                ids, labels = collate(examples[i : i + batch_size], pad)
                n = int((labels[:, 1:] != IGNORE).sum())
                losses.append(backend.loss(ids, labels).item() * n)
                weights.append(n)
    finally:
        backend.model.train(was_training)
    return sum(losses) / max(1, sum(weights))


def _warn(message: str) -> None:
    emit("warning", message=message)


def stage_data(out: Path, name: str, source: Path, raw: bytes) -> Path:
    """Keep the rows a run trains on in its folder (`data/<name>.jsonl`), byte for byte."""
    target = out / "data" / f"{name}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and (os.path.samefile(target, source) or target.read_bytes() == raw):
        return target
    write_file_atomic(target, raw)
    return target


def train(cfg: dict) -> None:
    out = Path(cfg["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    try:
        lock = lock_run_dir(out)  # held until the process ends
    except RunLocked as e:
        fail(str(e))
    for note in clean_leftovers(out):
        _warn(note)

    # What this run is, before anything in the run folder is written.
    train_file = Path(cfg["train_file"])
    train_rows, train_raw = read_rows(train_file)
    val_rows, val_raw = read_rows(Path(cfg["val_file"])) if cfg.get("val_file") else ([], None)
    data_sha256 = {"train": hashlib.sha256(train_raw).hexdigest(), "val": hashlib.sha256(val_raw).hexdigest() if val_raw is not None else None}
    identity = run_identity(cfg, data_sha256)
    ckpt = latest_checkpoint(out, _warn) if cfg.get("resume", True) else None
    if ckpt:
        changes = identity_changes(ckpt.identity, identity)
        if changes:
            fail(mismatch_message(str(out), ckpt.step, changes))

    random.seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    backend = (HfBackend if cfg["backend"] == "hf" else TorchBackend)(cfg)
    examples, dropped = encode_rows(train_rows, backend.encode, backend.bos, backend.eos, cfg["max_seq_len"], cfg["completion_only_loss"], cfg["train_file"])
    if cfg.get("packing"):
        examples = pack(examples, cfg["max_seq_len"])
    val = []
    if val_rows:
        val, _ = encode_rows(val_rows, backend.encode, backend.bos, backend.eos, cfg["max_seq_len"], cfg["completion_only_loss"], cfg["val_file"])
    bs, accum = cfg["batch_size"], cfg.get("grad_accum", 1)
    steps_per_epoch = math.ceil(len(examples) / (bs * accum))
    total = cfg.get("max_steps") or steps_per_epoch * cfg.get("epochs", 1)
    if ckpt and total < ckpt.step:
        fail(f"{out}: cannot resume: its checkpoint is at step {ckpt.step}, past this config's {total} steps "
             f"(max_steps {cfg.get('max_steps')}, epochs {cfg.get('epochs', 1)}); give at least {ckpt.step} steps, "
             "or start over (--no-resume; or resume: false)")

    # The run is accepted: record it.
    if not cfg.get("resume", True):
        discarded = discard_checkpoints(out)
        if discarded:
            _warn(f"resume is off: discarded the checkpoints of the previous run in {out} ({', '.join(discarded)})")
        if (out / "adapter").exists():
            remove_dir(out / "adapter")
    write_file_atomic(out / "config.json", (json.dumps(cfg, indent=2) + "\n").encode())
    stage_data(out, "train", train_file, train_raw)
    if val_raw is not None:
        stage_data(out, "val", Path(cfg["val_file"]), val_raw)

    params = backend.parameters()
    opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=0.0)
    scaler = torch.cuda.amp.GradScaler(enabled=cfg.get("precision") == "fp16" and torch.cuda.is_available())
    order = DataOrder(len(examples), cfg["seed"])
    start = 0
    if ckpt:
        backend.load_adapter(ckpt.path / "adapter")
        state = load_trainer_state(ckpt)
        opt.load_state_dict(state["optimizer"])
        if state["scaler"] is not None and scaler.is_enabled():
            scaler.load_state_dict(state["scaler"])
        elif state["scaler"] is not None or scaler.is_enabled():
            _warn("the checkpoint was trained with fp16 loss scaling " + ("on" if state["scaler"] is not None else "off") +
                  " and this machine runs it " + ("on" if scaler.is_enabled() else "off") + " (CUDA present or not): "
                  "the steps after the resume will not repeat the interrupted run's exactly")
        order.load_state_dict(state["data_order"])
        restore_rng(state["rng"], _warn)
        start = state["step"]
        emit("resume", step=start, checkpoint=str(ckpt.path))
        if total != ckpt.total_steps:
            emit("note", message=f"the run's length changed from {ckpt.total_steps} to {total} steps (max_steps "
                 f"{cfg.get('max_steps')}, epochs {cfg.get('epochs', 1)}): continuing from step {start}; the learning-rate "
                 f"schedule from here on follows {total} steps")
        elif start >= total:
            emit("note", message=f"the run was already complete at step {start}: writing its adapter from that checkpoint")
    emit("start", backend=cfg["backend"], train_examples=len(examples), dropped_too_long=dropped, val_examples=len(val),
         trainable_params=backend.trainable, total_params=backend.total, steps=total, start_step=start,
         data_sha256=data_sha256, pid=os.getpid())
    if val and start == 0:
        # The base model's loss (LoRA B starts at zero), so the curve starts where training does.
        emit("eval", step=0, val_loss=round(evaluate(backend, val, bs, backend.pad), 5))
    t0, tokens = time.time(), 0
    step = start
    while step < total:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total, cfg)
        t_step, step_tokens, loss_sum = time.time(), 0, 0.0
        for _ in range(accum):
            batch = [examples[order.next()] for _ in range(bs)]
            ids, labels = collate(batch, backend.pad)
            loss = backend.loss(ids, labels) / accum
            scaler.scale(loss).backward()
            loss_sum += loss.item()
            step_tokens += int((ids != backend.pad).sum())
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        step += 1
        tokens += step_tokens
        emit("step", step=step, loss=round(loss_sum, 5), lr=opt.param_groups[0]["lr"],
             tokens_per_s=round(step_tokens / max(1e-9, time.time() - t_step)), epoch=round(step / steps_per_epoch, 3))
        if val and (step % cfg.get("eval_every", 50) == 0 or step == total):
            emit("eval", step=step, val_loss=round(evaluate(backend, val, bs, backend.pad), 5))
        if step % cfg.get("save_every", 100) == 0 or step == total:
            state = {"format": FORMAT, "step": step, "optimizer": opt.state_dict(), "schedule": {"step": step, "total": total},
                     "scaler": scaler.state_dict() if scaler.is_enabled() else None, "rng": capture_rng(),
                     "data_order": order.state_dict(), "backend": {}}
            path = save_checkpoint(out, step, total, identity, lambda d: backend.save_adapter(d, cfg), state,
                                   cfg.get("max_checkpoints", 2))
            emit("checkpoint", step=step, path=str(path))
    adapter = out / "adapter"

    def write_adapter(tmp: Path) -> None:
        backend.save_adapter(tmp, cfg)
        fault_point("adapter.written")

    write_dir_atomic(adapter, write_adapter, fault="adapter")
    digest = hashlib.sha256((adapter / "adapter_model.safetensors").read_bytes()).hexdigest()
    secs = time.time() - t0
    emit("done", adapter_dir=str(adapter), adapter_sha256=digest, steps=total, train_seconds=round(secs, 2),
         tokens_per_s=round(tokens / max(secs, 1e-9)))
    lock.close()


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    cfg = load_config(Path(sys.argv[1]))
    try:
        train(cfg)
    except torch.cuda.OutOfMemoryError:
        fail("CUDA out of memory: lower batch_size (and raise grad_accum to keep the effective batch), "
             "lower max_seq_len, or turn on gradient_checkpointing / load_in_4bit")
    except FileNotFoundError as e:
        fail(str(e))


if __name__ == "__main__":
    main()
