"""A Hugging Face model folder: where it is (a path, or a Hub id in the standard cache), its
config.json, its weights (one `model.safetensors` or shards listed by `model.safetensors.index.json`)
and the tokenizer/generation files that travel with it.

    from tunebook.hf_files import resolve_model_dir, weight_files
    d = resolve_model_dir("Qwen/Qwen2.5-1.5B-Instruct")   # ~/.cache/huggingface/hub/models--Qwen--…/snapshots/<commit>
    weight_files(d)                                         # [d/"model-00001-of-00002.safetensors", …]

A Hub id is looked up in the cache that transformers, huggingface_hub and tunebook's lib/hub share
(`HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`): the commit `refs/<revision>` names.
When it is not there and huggingface_hub is installed (a GPU machine, Colab), it is downloaded
(config, weights, tokenizer files); otherwise the error says how to get it.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

# Files a merged checkpoint keeps from its base besides the weights: the tokenizer (SentencePiece or
# byte-level BPE), its special tokens and chat template, and how to generate (stop tokens).
COMPANION_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "added_tokens.json", "vocab.json", "merges.txt", "chat_template.jinja", "chat_template.json",
                   "generation_config.json")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def hub_cache_dir() -> Path:
    """The standard Hugging Face hub cache (the same rules as huggingface_hub and lib/hub's hubCacheDir)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(explicit)
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                                     "huggingface")
    return Path(home) / "hub"


def cached_snapshot(repo: str, revision: str = "main") -> Path | None:
    """The cached snapshot folder of a model repo at `revision`, or None."""
    storage = hub_cache_dir() / ("models--" + repo.replace("/", "--"))
    ref = storage / "refs" / revision
    commit = ref.read_text().strip() if ref.is_file() else revision if re.fullmatch(r"[0-9a-f]{40}", revision) else None
    if commit and (storage / "snapshots" / commit).is_dir():
        return storage / "snapshots" / commit
    return None


def resolve_model_dir(name: str, revision: str = "main", download: bool = True) -> Path:
    """A local folder for `name`: the path itself, else the Hub id's cached snapshot (downloaded when
    huggingface_hub is installed and `download`)."""
    p = Path(name).expanduser()
    if p.is_dir():
        return p
    if not _HUB_ID.match(name) or name.startswith((".", "/")):
        raise FileNotFoundError(f"base model {name}: no such folder")
    hit = cached_snapshot(name, revision)
    if hit is not None and (hit / "config.json").is_file():
        return hit
    if download and os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes", "on"):
        try:
            from huggingface_hub import snapshot_download
        except ImportError:
            pass
        else:
            return Path(snapshot_download(name, revision=revision,
                                          allow_patterns=["*.json", "*.safetensors", "tokenizer.model", "*.jinja", "*.txt"]))
    raise FileNotFoundError(
        f"base model {name}: not a folder, and not in the Hugging Face cache ({hub_cache_dir()}); download it "
        f"(huggingface-cli download {name}, or train once with backend 'hf', which caches it), or pass its folder")


def read_config(model_dir: Path) -> dict:
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; a Hugging Face checkpoint folder has config.json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e


def weight_files(model_dir: Path) -> list[Path]:
    """The checkpoint's safetensors files: model.safetensors, or the shards its index lists."""
    d = Path(model_dir)
    if (d / "model.safetensors").is_file():
        return [d / "model.safetensors"]
    index = d / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, KeyError) as e:
            raise ValueError(f"{index}: not a safetensors index (no weight_map: {e})") from e
        shards = [d / f for f in sorted(set(weight_map.values()))]
        missing = [s.name for s in shards if not s.is_file()]
        if missing:
            raise FileNotFoundError(f"{index}: lists {', '.join(missing[:3])}, which are not in {d}; download every shard")
        return shards
    if any(d.glob("*.bin")):
        raise FileNotFoundError(f"{d}: only PyTorch .bin weights; tunebook reads safetensors (convert with "
                                "transformers: model.save_pretrained(dir, safe_serialization=True))")
    raise FileNotFoundError(f"{d / 'model.safetensors'}: missing; a checkpoint folder needs model.safetensors "
                            "(or model.safetensors.index.json and its shards)")


def load_weights(model_dir: Path) -> dict:
    """Every tensor of the checkpoint (all shards), by name."""
    from .safetensors_io import load_safetensors

    out = {}
    for f in weight_files(model_dir):
        out.update(load_safetensors(f))
    return out
