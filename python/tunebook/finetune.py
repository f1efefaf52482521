"""LoRA fine-tuning: one trainer, two backends, one config and event protocol.

    python3 -m tunebook.finetune CONFIG.json

The config (written and validated by tunebook's TypeScript side, lib/train/config.ts) names the
base model (a Hugging Face checkpoint folder, or a Hub id for backend hf), JSONL files of rows —
{"prompt", "completion"}, or {"messages": [...]} rendered with the model's chat template
(examples.py) — the LoRA settings and the schedule. Backends:

- `torch` (backend_torch.py): tunebook's pure-torch decoder (Llama, Mistral, Qwen2 shapes) with
  LoRA layers, fp32; CPU, needs only torch, numpy and sentencepiece.
- `hf` (backend_hf.py): transformers + peft, the path for real models on a GPU: fp16/bf16 bases,
  4-bit NF4 (bitsandbytes), gradient checkpointing.

Both share the row encoding (examples.py), packing and batching (batches.py) and the optimizer
step (train_step.py: the loss is token-weighted over all micro-batches of a step). Both write a
PEFT adapter (adapter_config.json + adapter_model.safetensors) to `<output_dir>/adapter`,
checkpoints to `<output_dir>/checkpoints/step-N` (checkpoint.py: atomic, verified, resumed from
automatically and bit for bit), and print one JSON event per line on stdout: plan (plan.py: dtypes,
batch, memory estimate), start, resume, step, eval, checkpoint, note, warning, done — or error,
with a message to act on.

Several processes (torchrun or accelerate launch: `deno task finetune --nproc N`) train one run
under DistributedDataParallel with the same global batch, so the adapter does not depend on the
process count; rank 0 alone writes events and the run folder (distributed.py).

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

from .atomic import remove_dir, write_dir_atomic, write_file_atomic
from .batches import DataOrder, collate, pack
from .checkpoint import (FORMAT, capture_rng, clean_leftovers, discard_checkpoints, latest_checkpoint, load_trainer_state,
                         restore_rng, save_checkpoint)
from .distributed import Dist, check_split
from .events import emit, fail
from .examples import RowError, encode_rows
from .faults import fault_point
from .plan import build_plan, model_config_for
from .run_identity import identity_changes, mismatch_message, run_identity
from .run_lock import RunLocked, lock_run_dir
from .suggest import closest_name
from .train_step import train_step

KNOWN_KEYS = {
    "backend", "base_model", "train_file", "val_file", "output_dir", "lora", "lr", "schedule", "warmup_steps",
    "max_steps", "epochs", "batch_size", "grad_accum", "max_seq_len", "packing", "completion_only_loss", "seed",
    "eval_every", "save_every", "precision", "load_in_4bit", "gradient_checkpointing", "threads", "resume",
    "device", "max_checkpoints", "nproc", "nnodes", "node_rank", "master_addr", "master_port", "launcher",
}
LORA_KEYS = {"r", "alpha", "dropout", "target_modules"}
ROW_FIELDS = ("prompt", "completion")


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


def _check_messages(path: Path, n: int, messages) -> None:
    if not isinstance(messages, list) or not messages:
        fail(f'{path}:{n}: field "messages" is {_describe(messages) if messages != [] else "an empty list"}; expected a list '
             'of turns, e.g. [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]')
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            fail(f'{path}:{n}: field "messages[{i}]" is {_describe(m)}; expected an object with string fields "role" and "content"')
        for field in ("role", "content"):
            if field not in m:
                fail(f'{path}:{n}: field "messages[{i}].{field}" is missing; each turn needs string fields "role" and "content"')
            if not isinstance(m[field], str):
                fail(f'{path}:{n}: field "messages[{i}].{field}" is {_describe(m[field])}; expected a string')


def read_rows(path: Path) -> tuple[list[tuple[int, dict]], bytes]:
    """((line, row) pairs, the file's bytes); a row is {"prompt", "completion"} or {"messages": [...]}.
    A bad row fails with file:line, field and what is expected."""
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
            fail(f'{path}:{n}: expected a JSON object with string fields "prompt" and "completion", got {_describe(row)}; '
                 'a conversation is {"messages": [{"role": ..., "content": ...}, ...]}')
        if "messages" in row:
            _check_messages(path, n, row["messages"])
            rows.append((n, row))
            continue
        for field in ROW_FIELDS:
            if field not in row:
                near = [k for k in row if k not in ROW_FIELDS and closest_name(k, [field])]
                hint = f'; it has "{near[0]}": did you mean "{field}"?' if near else f" (it has: {', '.join(sorted(row)) or 'no fields'})"
                fail(f'{path}:{n}: field "{field}" is missing{hint}; each row needs string fields "prompt" and "completion" '
                     '(or "messages": a list of {"role", "content"} turns)')
            if not isinstance(row[field], str):
                fail(f'{path}:{n}: field "{field}" is {_describe(row[field])}; expected a string (e.g. "{field}": "...")')
        rows.append((n, row))
    if not rows:
        fail(f"{path}: no rows; curate or export some training data first")
    return rows, raw


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


def make_backend(cfg: dict):
    if cfg["backend"] == "hf":
        from .backend_hf import HfBackend

        return HfBackend(cfg)
    from .backend_torch import TorchBackend

    return TorchBackend(cfg)


def evaluate(backend, examples, batch_size: int, pad: int, dist: Dist | None = None) -> float:
    """Validation loss (token-weighted), with dropout off; draws no random numbers. With several
    processes each rank scores its share of the rows and the sums are added up."""
    dist = dist or Dist()
    was_training = backend.model.training
    backend.model.eval()
    total, n = 0.0, 0
    mine = examples[dist.rank::dist.world]
    try:
        with torch.no_grad():
            for i in range(0, len(mine), batch_size):
                summed, k = backend.loss_sum(collate(mine[i : i + batch_size], pad), ddp=False)
                total += float(summed)
                n += k
    finally:
        backend.model.train(was_training)
    total, n = dist.all_sum([total, n])
    return total / max(1, n)


def _warn(message: str) -> None:
    emit("warning", message=message)


def _lines(lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:5]))
    return f"line{'s' if len(lines) > 1 else ''} {shown}{', …' if len(lines) > 5 else ''}"


def stage_data(out: Path, name: str, source: Path, raw: bytes) -> Path:
    """Keep the rows a run trains on in its folder (`data/<name>.jsonl`), byte for byte."""
    target = out / "data" / f"{name}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and (os.path.samefile(target, source) or target.read_bytes() == raw):
        return target
    write_file_atomic(target, raw)
    return target


def run_length(cfg: dict, n_examples: int) -> tuple[int, int]:
    """(steps per epoch, total steps): max_steps, else epochs (a fraction too) rounded up to whole steps."""
    per_epoch = math.ceil(n_examples / (cfg["batch_size"] * cfg.get("grad_accum", 1)))
    if cfg.get("max_steps"):
        return per_epoch, int(cfg["max_steps"])
    return per_epoch, max(1, math.ceil(per_epoch * cfg.get("epochs", 1) - 1e-9))


def make_scaler(enabled: bool):
    """fp16's loss scaler (torch.amp's where torch has it, else torch.cuda.amp's)."""
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


def encode_file(rows, backend, cfg: dict, where: str, split: str):
    try:
        return encode_rows(rows, backend.enc, cfg["max_seq_len"], cfg["completion_only_loss"], where)
    except RowError as e:
        fail(f"{e}; fix the row (or remove it)")


def train(cfg: dict) -> None:
    out = Path(cfg["output_dir"])
    dist = Dist.from_env(cfg.get("device"))
    if dist.world > 1:
        cfg = {**cfg, "device": dist.device(cfg.get("device"))}
    why = check_split(cfg["batch_size"] * cfg.get("grad_accum", 1), dist.world, cfg["batch_size"], cfg.get("grad_accum", 1))
    if why:
        fail(why)
    lock = None
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)
        try:
            lock = lock_run_dir(out)  # held until the process ends
        except RunLocked as e:
            fail(str(e))
        for note in clean_leftovers(out):
            _warn(note)
    dist.barrier()  # the other ranks read the run folder once rank 0 has cleaned it

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

    mc, why = model_config_for(cfg["base_model"])
    emit("plan", **build_plan(cfg, mc, why, _gpu_memory_gb()))
    random.seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    backend = make_backend(cfg)
    train_enc = encode_file(train_rows, backend, cfg, cfg["train_file"], "train")
    if not train_enc.examples:
        fail(f"{cfg['train_file']}: every row is longer than max_seq_len={cfg['max_seq_len']} tokens; raise max_seq_len")
    if train_enc.too_long:
        _warn(f"{cfg['train_file']}: {len(train_enc.too_long)} of {len(train_rows)} rows are longer than max_seq_len="
              f"{cfg['max_seq_len']} tokens and are left out of training ({_lines(train_enc.too_long)}); raise max_seq_len "
              "to train on them")
    val_enc = encode_file(val_rows, backend, cfg, cfg["val_file"], "val") if val_rows else None
    if val_enc and val_enc.too_long:
        _warn(f"{cfg['val_file']}: {len(val_enc.too_long)} of {len(val_rows)} validation rows are longer than max_seq_len="
              f"{cfg['max_seq_len']} tokens and are left out of the validation loss ({_lines(val_enc.too_long)}); raise "
              "max_seq_len to include them")
    if val_rows and not val_enc.examples:
        fail(f"{cfg['val_file']}: every validation row is longer than max_seq_len={cfg['max_seq_len']} tokens; raise "
             "max_seq_len, or give no val_file")
    merged = train_enc.boundary_merged + (val_enc.boundary_merged if val_enc else 0)
    if merged:
        emit("note", message=f"{merged} rows have a token spanning the prompt/completion boundary (the prompt's tokens are "
             "not a prefix of the whole's); their loss starts at that token, so the completion is learned whole")
    examples = train_enc.examples
    if cfg.get("packing"):
        examples = pack(examples, cfg["max_seq_len"])
    val = val_enc.examples if val_enc else []
    bs, accum = cfg["batch_size"], cfg.get("grad_accum", 1)
    steps_per_epoch, total = run_length(cfg, len(examples))
    if ckpt and total < ckpt.step:
        fail(f"{out}: cannot resume: its checkpoint is at step {ckpt.step}, past this config's {total} steps "
             f"(max_steps {cfg.get('max_steps')}, epochs {cfg.get('epochs', 1)}); give at least {ckpt.step} steps, "
             "or start over (--no-resume; or resume: false)")

    # The run is accepted: record it (rank 0; the others wait at the barrier below).
    if dist.main and not cfg.get("resume", True):
        discarded = discard_checkpoints(out)
        if discarded:
            _warn(f"resume is off: discarded the checkpoints of the previous run in {out} ({', '.join(discarded)})")
        if (out / "adapter").exists():
            remove_dir(out / "adapter")
    if dist.main:
        write_file_atomic(out / "config.json", (json.dumps(cfg, indent=2) + "\n").encode())
        stage_data(out, "train", train_file, train_raw)
        if val_raw is not None:
            stage_data(out, "val", Path(cfg["val_file"]), val_raw)
    dist.barrier()

    params = backend.parameters()
    if dist.world > 1:
        backend.wrap_ddp(dist)
    opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=0.0)
    scaler = make_scaler(backend.fp16)
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
        was = {k: v for k, v in (state.get("backend") or {}).items() if k != "name"}
        now = {k: v for k, v in backend.state().items() if k != "name"}
        if was and was != now:
            _warn(f"the checkpoint was written with {was} and this run has {now}: the steps after the resume may not "
                  "repeat the interrupted run's exactly")
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
    emit("start", backend=cfg["backend"], train_examples=len(train_enc.examples), train_rows=len(examples),
         dropped_too_long=len(train_enc.too_long), val_examples=len(val),
         val_dropped_too_long=len(val_enc.too_long) if val_enc else 0, boundary_merged=merged,
         trainable_params=backend.trainable, total_params=backend.total, steps=total, start_step=start,
         data_sha256=data_sha256, pid=os.getpid(), processes=dist.world,
         rows_per_process=bs * accum // dist.world)
    if val and start == 0:
        # The base model's loss (LoRA B starts at zero), so the curve starts where training does.
        emit("eval", step=0, val_loss=round(evaluate(backend, val, bs, backend.pad, dist), 5))
    t0, tokens = time.time(), 0
    step = start
    while step < total:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total, cfg)
        t_step = time.time()
        rows = [examples[order.next()] for _ in range(bs * accum)]  # the step's rows: the same on every rank
        micro = [collate(part, backend.pad) for part in dist.share(rows, bs)]  # this rank's share
        if dist.world > 1:
            result = train_step(backend, micro, opt, scaler, params, count_tokens=lambda n: int(dist.all_sum([n])[0]),
                                no_sync=backend.no_sync, loss_scale=dist.world)
            loss_sum, label_tokens, input_tokens = dist.all_sum([result.loss * result.label_tokens, result.label_tokens,
                                                                 result.input_tokens])
            loss, label_tokens, input_tokens = loss_sum / max(1, label_tokens), int(label_tokens), int(input_tokens)
        else:
            result = train_step(backend, micro, opt, scaler, params)
            loss, label_tokens, input_tokens = result.loss, result.label_tokens, result.input_tokens
        step += 1
        tokens += input_tokens
        fault_point("train.step", step)
        extra = {"skipped": True} if result.skipped else {}
        emit("step", step=step, loss=round(loss, 5), lr=opt.param_groups[0]["lr"],
             tokens_per_s=round(input_tokens / max(1e-9, time.time() - t_step)), epoch=round(step / steps_per_epoch, 3),
             label_tokens=label_tokens, grad_norm=round(result.grad_norm, 4), **extra)
        if val and (step % cfg.get("eval_every", 50) == 0 or step == total):
            emit("eval", step=step, val_loss=round(evaluate(backend, val, bs, backend.pad, dist), 5))
        if (step % cfg.get("save_every", 100) == 0 or step == total) and dist.main:
            state = {"format": FORMAT, "step": step, "optimizer": opt.state_dict(), "schedule": {"step": step, "total": total},
                     "scaler": scaler.state_dict() if scaler.is_enabled() else None, "rng": capture_rng(),
                     "data_order": order.state_dict(), "backend": backend.state()}
            path = save_checkpoint(out, step, total, identity, lambda d: backend.save_adapter(d, cfg), state,
                                   cfg.get("max_checkpoints", 2))
            emit("checkpoint", step=step, path=str(path))
        if step % cfg.get("save_every", 100) == 0 or step == total:
            dist.barrier()  # no rank runs ahead of a checkpoint being written
    adapter = out / "adapter"
    if not dist.main:
        dist.close()
        return

    def write_adapter(tmp: Path) -> None:
        backend.save_adapter(tmp, cfg)
        fault_point("adapter.written")

    write_dir_atomic(adapter, write_adapter, fault="adapter")
    digest = hashlib.sha256((adapter / "adapter_model.safetensors").read_bytes()).hexdigest()
    secs = time.time() - t0
    extra = {}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        extra["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 1024**3, 3)
    emit("done", adapter_dir=str(adapter), adapter_sha256=digest, steps=total, train_seconds=round(secs, 2),
         tokens_per_s=round(tokens / max(secs, 1e-9)), processes=dist.world, **extra)
    lock.close()
    dist.close()


def _gpu_memory_gb() -> float | None:
    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory / 1024**3


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    cfg = load_config(Path(sys.argv[1]))
    try:
        train(cfg)
    except torch.cuda.OutOfMemoryError:
        fail("CUDA out of memory: lower batch_size (and raise grad_accum to keep the effective batch), "
             "lower max_seq_len, or turn on gradient_checkpointing / load_in_4bit (deno task finetune --dry-run "
             "estimates what each needs)")
    except FileNotFoundError as e:
        fail(str(e))


if __name__ == "__main__":
    main()
