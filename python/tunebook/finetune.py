"""LoRA fine-tuning: one trainer, two backends, one config and event protocol.

    python3 -m tunebook.finetune CONFIG.json

The config (written and validated by tunebook's TypeScript side, lib/train/config.ts) names the
base model (a Hugging Face checkpoint directory), JSONL files of {"prompt", "completion"} rows,
the LoRA settings and the schedule. Backends:

- `torch`: the pure-torch Llama (python/tunebook/model.py) with LoRA layers; CPU, needs only torch.
- `hf`: transformers + peft (Unsloth's FastLanguageModel when installed); the path for real models
  on a GPU, with fp16/bf16, 4-bit bases (bitsandbytes) and gradient checkpointing.

Both write a PEFT adapter (adapter_config.json + adapter_model.safetensors) to `<output_dir>/adapter`,
checkpoints to `<output_dir>/checkpoints/step-N` (resumed from automatically), and print one JSON
event per line on stdout: start, step, eval, checkpoint, done — or error, with a message to act on.
"""
from __future__ import annotations

import json
import math
import random
import shutil
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .events import emit, fail

KNOWN_KEYS = {
    "backend", "base_model", "train_file", "val_file", "output_dir", "lora", "lr", "schedule", "warmup_steps",
    "max_steps", "epochs", "batch_size", "grad_accum", "max_seq_len", "packing", "completion_only_loss", "seed",
    "eval_every", "save_every", "precision", "load_in_4bit", "gradient_checkpointing", "threads", "resume",
    "device", "max_checkpoints",
}
LORA_KEYS = {"r", "alpha", "dropout", "target_modules"}
IGNORE = -100


def load_config(path: Path) -> dict:
    try:
        cfg = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        fail(f"{path}: cannot read the fine-tuning config ({e})")
    unknown = set(cfg) - KNOWN_KEYS
    if unknown:
        fail(f"{path}: unknown config keys {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}")
    unknown = set(cfg.get("lora", {})) - LORA_KEYS
    if unknown:
        fail(f"{path}: unknown lora keys {sorted(unknown)}; known: {sorted(LORA_KEYS)}")
    return cfg


def read_rows(path: Path) -> list[dict]:
    """{"prompt", "completion"} rows; a bad row fails with its line number."""
    if not path.is_file():
        fail(f"{path}: training data not found")
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                fail(f"{path}:{n}: not valid JSON ({e}); fix or remove that row")
            if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not isinstance(row.get("completion"), str):
                have = sorted(row) if isinstance(row, dict) else type(row).__name__
                fail(f"{path}:{n}: each row needs string fields 'prompt' and 'completion' (this row has {have})")
            rows.append(row)
    if not rows:
        fail(f"{path}: no rows; curate or export some training data first")
    return rows


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
        self.model = load_checkpoint(cfg["base_model"]).to(self.device)
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
            own[name[len(PEFT_PREFIX):]].data.copy_(t)


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


def latest_checkpoint(out: Path) -> Path | None:
    ckpts = sorted((out / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[1]))
    return ckpts[-1] if ckpts else None


def evaluate(backend, examples, batch_size: int, pad: int) -> float:
    losses, weights = [], []
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            ids, labels = collate(examples[i : i + batch_size], pad)
            n = int((labels[:, 1:] != IGNORE).sum())
            losses.append(backend.loss(ids, labels).item() * n)
            weights.append(n)
    return sum(losses) / max(1, sum(weights))


def train(cfg: dict) -> None:
    out = Path(cfg["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    random.seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    backend = (HfBackend if cfg["backend"] == "hf" else TorchBackend)(cfg)
    train_rows = read_rows(Path(cfg["train_file"]))
    examples, dropped = encode_rows(train_rows, backend.encode, backend.bos, backend.eos, cfg["max_seq_len"], cfg["completion_only_loss"], cfg["train_file"])
    if cfg.get("packing"):
        examples = pack(examples, cfg["max_seq_len"])
    val = []
    if cfg.get("val_file"):
        val, _ = encode_rows(read_rows(Path(cfg["val_file"])), backend.encode, backend.bos, backend.eos, cfg["max_seq_len"], cfg["completion_only_loss"], cfg["val_file"])
    bs, accum = cfg["batch_size"], cfg.get("grad_accum", 1)
    steps_per_epoch = math.ceil(len(examples) / (bs * accum))
    total = cfg.get("max_steps") or steps_per_epoch * cfg.get("epochs", 1)
    params = backend.parameters()
    opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=0.0)
    scaler = torch.cuda.amp.GradScaler(enabled=cfg.get("precision") == "fp16" and torch.cuda.is_available())
    start = 0
    ckpt = latest_checkpoint(out) if cfg.get("resume", True) else None
    if ckpt:
        backend.load_adapter(ckpt / "adapter")
        state = torch.load(ckpt / "trainer_state.pt")
        opt.load_state_dict(state["optimizer"])
        start = state["step"]
        random.setstate(state["python_rng"])
        torch.set_rng_state(state["torch_rng"])
        emit("resume", step=start, checkpoint=str(ckpt))
    emit("start", backend=cfg["backend"], train_examples=len(examples), dropped_too_long=dropped, val_examples=len(val),
         trainable_params=backend.trainable, total_params=backend.total, steps=total, start_step=start)
    if val and start == 0:
        # The base model's loss (LoRA B starts at zero), so the curve starts where training does.
        emit("eval", step=0, val_loss=round(evaluate(backend, val, bs, backend.pad), 5))
    order: list[int] = []
    t0, tokens = time.time(), 0
    step = start
    # Replay the data order up to the resumed step, so a resumed run sees the same batches.
    rng = random.Random(cfg["seed"])
    for _ in range(start * bs * accum):
        if not order:
            order = rng.sample(range(len(examples)), len(examples))
        order.pop()
    while step < total:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total, cfg)
        t_step, step_tokens, loss_sum = time.time(), 0, 0.0
        for _ in range(accum):
            batch = []
            for _ in range(bs):
                if not order:
                    order = rng.sample(range(len(examples)), len(examples))
                batch.append(examples[order.pop()])
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
            save_checkpoint(backend, cfg, out, step, opt)
    adapter = out / "adapter"
    backend.save_adapter(adapter, cfg)
    secs = time.time() - t0
    emit("done", adapter_dir=str(adapter), steps=total, train_seconds=round(secs, 2), tokens_per_s=round(tokens / max(secs, 1e-9)))


def save_checkpoint(backend, cfg: dict, out: Path, step: int, opt) -> None:
    path = out / "checkpoints" / f"step-{step}"
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    backend.save_adapter(tmp / "adapter", cfg)
    torch.save({"step": step, "optimizer": opt.state_dict(), "python_rng": random.getstate(), "torch_rng": torch.get_rng_state()}, tmp / "trainer_state.pt")
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    keep = cfg.get("max_checkpoints", 2)
    for old in sorted((out / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    emit("checkpoint", step=step, path=str(path))


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
