"""What the generated Colab notebook (lib/train/colab.ts) calls, one function per cell.

The notebook stays a list of calls; the logic is here, where it runs the same in Colab and in
tunebook's CI, which executes the notebook with a Python kernel. Colab's own services are used
when they are there, and environment settings stand in for them when they are not:

- `HF_TOKEN`: the Hugging Face token (in Colab: the secret `HF_TOKEN`, else this, else a prompt);
  `HF_ENDPOINT`: the Hub (huggingface_hub reads it);
- `TUNEBOOK_DRIVE_DIR`: the folder that stands for a mounted Google Drive (in Colab: MyDrive);
- `TUNEBOOK_TRAIN_FILE`, `TUNEBOOK_VAL_FILE`: the training rows (in Colab: a URL or an upload);
- `TUNEBOOK_LLAMA_CPP`: llama.cpp's source at the pinned commit (in Colab: cloned at its tag);
  `TUNEBOOK_LIBLLAMA`: its libllama (in Colab: built from that source);
- `TUNEBOOK_SKIP_INSTALL=1`: the pinned packages are already installed.

A run's folder (`run_folder`) is on Drive when Drive is there, so its checkpoints survive a
recycled runtime and running the notebook again resumes. It ends up holding: config.json (the
trainer's resolved config), events.jsonl (every event of the run, one story across resumes),
stderr.log, adapter/ (PEFT), checkpoints/, then samples.json, README.md (the model card) and
tunebook_run.json (the manifest `deno task hub:pull` reads). The exports — lora.gguf,
<name>-f16.gguf (merged), <name>-<quant>.gguf, a JSON card next to each, merged/ — are large and
go to the runtime's disk (`export_folder`; `TUNEBOOK_EXPORT_DIR` moves it); the push sends both.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

MANIFEST = "tunebook_run.json"
HUB = "https://huggingface.co"


class ColabError(RuntimeError):
    """Something the person running the notebook must fix; the message says what."""


def in_colab() -> bool:
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def _endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", HUB).rstrip("/")


# ---------------------------------------------------------------- 1. the Hub token, checked first

def _colab_secret(name: str) -> str | None:
    try:
        from google.colab import userdata
    except ImportError:
        return None
    try:
        return userdata.get(name) or None
    except Exception as e:  # SecretNotFoundError, NotebookAccessError
        print(f"note: Colab secret {name}: {type(e).__name__} (add it under the key icon, with notebook access on)")
        return None


def hub_login(base_model: str, push_to: str, private: bool = True) -> str | None:
    """Find the token (Colab secret HF_TOKEN, env HF_TOKEN, else a prompt that waits for it), check
    it with the Hub, check that the base model can be downloaded with it (gated models need their
    terms accepted) and, with `push_to`, that it may write. Sets HF_TOKEN for the cells after."""
    from huggingface_hub import HfApi

    needs_hub = bool(push_to) or not Path(base_model).is_dir()
    token, source = _colab_secret("HF_TOKEN"), "the Colab secret HF_TOKEN"
    if not token and os.environ.get("HF_TOKEN"):
        token, source = os.environ["HF_TOKEN"], "the environment variable HF_TOKEN"
    if not token and needs_hub and in_colab():
        token = getpass.getpass(f"Hugging Face token (make one at {HUB}/settings/tokens; "
                                f"{'write' if push_to else 'read'} access): ").strip() or None
        source = "the prompt"
    if not token:
        if push_to:
            raise ColabError(f"no Hugging Face token, and the run is to be pushed to {push_to}: add a token with write "
                             f"access as the Colab secret HF_TOKEN (key icon in the left bar, notebook access on; "
                             f"make one at {HUB}/settings/tokens), then run this cell again")
        print("no Hugging Face token: fine for a public base model and no push")
        return None
    api = HfApi(endpoint=_endpoint(), token=token)
    try:
        who = api.whoami()
    except Exception as e:
        raise ColabError(f"the Hub ({_endpoint()}) refused the token from {source} ({type(e).__name__}: {e}); make a "
                         f"new one at {HUB}/settings/tokens and put it in the Colab secret HF_TOKEN") from None
    role = (who.get("auth", {}).get("accessToken", {}) or {}).get("role")
    if push_to and role == "read":
        raise ColabError(f"the token from {source} ({who['name']}) is read-only, and pushing to {push_to} needs write "
                         f"access: make a write token at {HUB}/settings/tokens")
    os.environ["HF_TOKEN"] = token
    print(f"Hub: logged in as {who['name']} (token from {source}, role {role or 'unknown'})")
    check_base_access(base_model, token, who["name"])
    if push_to:
        print(f"push: {push_to} ({'private' if private else 'public'}), after training")
    return token


def check_base_access(base_model: str, token: str | None, user: str = "you") -> None:
    """Download the base model's config.json now, so a gated or missing model fails in the first
    cells with what to do, not at from_pretrained after the installs."""
    if Path(base_model).is_dir():
        check_exportable(Path(base_model) / "config.json", base_model)
        print(f"base model: the folder {base_model}")
        return
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import GatedRepoError, RepositoryNotFoundError

    try:
        config = hf_hub_download(base_model, "config.json", token=token)
    except GatedRepoError:
        raise ColabError(f"{base_model} is gated: open {HUB}/{base_model}, accept its terms as {user} (the account "
                         f"of this token), wait for access to be granted, then run this cell again") from None
    except RepositoryNotFoundError:
        raise ColabError(f"{base_model}: no such model on the Hub, or it is private to another account; check the id "
                         f"(--base) and the token's account ({user})") from None
    check_exportable(Path(config), base_model)
    print(f"base model: {base_model} (config.json downloaded: access is granted)")


def check_exportable(config_path: Path, base_model: str) -> None:
    """Refuse, in the first cells, a base whose config tunebook's exporter (export_lora.py,
    export_gguf.py: llama, mistral, qwen2) refuses: it would train for hours, then fail at the exports."""
    from .model import LlamaConfig

    if not Path(config_path).is_file():
        raise ColabError(f"{base_model}: no config.json in it; give --base a Hugging Face checkpoint folder or Hub id")
    try:
        LlamaConfig.from_hf(json.loads(Path(config_path).read_text(encoding="utf-8")), f"{base_model}/config.json")
    except ValueError as e:
        raise ColabError(f"{base_model} cannot be exported by this notebook: {e}. The notebook makes its GGUF LoRA, "
                         f"merged and quantized GGUFs with tunebook's exporter, so this base would train and then fail "
                         f"there; pick a Llama, Mistral or Qwen2 base (--base)") from None


# ---------------------------------------------------------------- 2. where the run lives

def run_folder(run: str) -> Path:
    """The run's folder: on Google Drive when it is mounted (TUNEBOOK_DRIVE_DIR stands for it), so
    checkpoints survive a disconnect and running the notebook again resumes; else /content/out."""
    drive = os.environ.get("TUNEBOOK_DRIVE_DIR")
    root = Path(drive) if drive else None
    if root is None and in_colab():
        try:
            from google.colab import drive as gdrive

            gdrive.mount("/content/drive")
            root = Path("/content/drive/MyDrive")
        except Exception as e:
            print(f"warning: Google Drive is not mounted ({e}): the checkpoints stay on this runtime, and a "
                  "disconnect loses them")
    if root is None:
        out = Path("/content/out" if in_colab() else "out") / run
        print(f"run folder: {out} (not on Drive: a new runtime starts over)")
    else:
        out = root / "tunebook" / run
        print(f"run folder: {out} (on Drive: running this notebook again resumes from its checkpoints)")
    out.mkdir(parents=True, exist_ok=True)
    steps = sorted((out / "checkpoints").glob("step-*")) if (out / "checkpoints").is_dir() else []
    if steps:
        print(f"  checkpoints found: {', '.join(p.name for p in steps)}")
    return out


def training_data(data_url: str, has_val: bool) -> tuple[str, str | None]:
    """The training (and validation) rows: TUNEBOOK_TRAIN_FILE / TUNEBOOK_VAL_FILE, else the URL,
    else an upload in Colab. Returns their paths under data/."""
    Path("data").mkdir(exist_ok=True)
    train, val = Path("data/train.jsonl"), Path("data/val.jsonl")
    env_train, env_val = os.environ.get("TUNEBOOK_TRAIN_FILE"), os.environ.get("TUNEBOOK_VAL_FILE")
    if env_train:
        shutil.copy(env_train, train)
        if env_val:
            shutil.copy(env_val, val)
    elif data_url:
        import urllib.request

        urllib.request.urlretrieve(data_url, train)
    elif in_colab():
        from google.colab import files

        for name in files.upload():
            os.replace(name, val if "val" in name else train)
    if not train.is_file():
        raise ColabError("no training rows: upload results/train/<run>/data/train.jsonl (tunebook wrote it), or "
                         "generate the notebook with a data URL")
    if has_val and not val.is_file():
        raise ColabError("the config has validation rows but none came: upload val.jsonl too")
    for p in (train, val):
        if p.is_file():
            print(f"{p}: {sum(1 for line in p.open() if line.strip())} rows")
    return str(train), str(val) if val.is_file() else None


# ---------------------------------------------------------------- 3. training, with its events

class EventLog:
    """events.jsonl as lib/train/event_log.ts writes it: one run's story across resumes. An
    attempt's events wait for the trainer's `start`; a fresh start replaces the log, a resume from
    step N keeps the earlier events up to N."""

    def __init__(self, path: Path):
        self.path, self.pending, self.started = path, [], False

    def add(self, event: dict, line: str) -> None:
        if self.started:
            with self.path.open("a") as f:
                f.write(line + "\n")
            return
        self.pending.append(line)
        if event.get("event") != "start":
            return
        self.started = True
        start = int(event.get("start_step") or 0)
        kept = []
        if start > 0 and self.path.is_file():
            for old in self.path.read_text().splitlines():
                try:
                    step = json.loads(old).get("step")
                except ValueError:
                    continue
                if not isinstance(step, (int, float)) or step <= start:
                    kept.append(old)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in kept + self.pending))
        os.replace(tmp, self.path)
        self.pending = []


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    """A readable view of the trainer's events: one line that updates in place for the steps
    (bar, loss, learning rate, tokens/s, time left) and a line each for evaluations and notes."""

    def __init__(self):
        self.total = self.first = 0
        self.t0 = time.time()
        self.last_val = None
        try:
            from IPython.display import display

            self.handle = display({"text/plain": "waiting for the trainer…"}, raw=True, display_id=True)
        except Exception:
            self.handle = None

    def _show(self, text: str) -> None:
        if self.handle is not None:
            self.handle.update({"text/plain": text}, raw=True)
        else:
            print(text, flush=True)

    def update(self, ev: dict) -> None:
        kind = ev.get("event")
        if kind == "plan":
            dtypes = ev.get("dtypes", {})
            print(f"plan: base {dtypes.get('frozen_base', '?')}{' (4-bit)' if ev.get('load_in_4bit') else ''}, "
                  f"LoRA r={ev.get('lora', {}).get('r', '?')}, micro batch {ev.get('micro_batch', '?')} × "
                  f"{ev.get('grad_accum', '?')} accumulated, gradient checkpointing "
                  f"{'on' if ev.get('gradient_checkpointing') else 'off'}, "
                  f"~{ev.get('memory_gb', {}).get('peak', '?')} GB estimated peak")
        elif kind == "start":
            self.total, self.first, self.t0 = ev["steps"], ev.get("start_step", 0), time.time()
            print(f"training: {ev['train_examples']} examples, steps {self.first}→{self.total}, "
                  f"{ev['trainable_params']:,} trainable of {ev['total_params']:,} parameters")
        elif kind == "resume":
            print(f"resuming from step {ev['step']} ({ev['checkpoint']})")
        elif kind == "step":
            n, total = ev["step"], max(self.total, 1)
            done = n - self.first
            left = (time.time() - self.t0) / max(done, 1) * (total - n)
            bar = "█" * round(20 * n / total) + "·" * (20 - round(20 * n / total))
            val = f" · val {self.last_val:.4f}" if self.last_val is not None else ""
            self._show(f"step {n}/{total} {bar} loss {ev['loss']:.4f}{val} · lr {ev['lr']:.2e} · "
                       f"{ev.get('tokens_per_s', 0):,} tok/s · {_duration(left)} left")
        elif kind == "eval":
            self.last_val = ev["val_loss"]
            print(f"step {ev['step']}: validation loss {ev['val_loss']:.4f}")
        elif kind in ("warning", "note"):
            print(f"{kind}: {ev['message']}")
        elif kind == "done":
            print(f"done: {ev['steps']} steps in {_duration(ev['train_seconds'])}, {ev['tokens_per_s']:,} tok/s; "
                  f"adapter {ev['adapter_dir']}")


def train(config: dict, out: Path) -> dict:
    """Run tunebook's trainer on `config` with its output in `out`, saving every event to
    out/events.jsonl and the trainer's stderr to out/stderr.log; returns the `done` event."""
    cfg = {**config, "output_dir": str(out)}
    Path("config.json").write_text(json.dumps(cfg, indent=2))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]),
           "PYTHONUNBUFFERED": "1"}
    log, progress, last = EventLog(out / "events.jsonl"), Progress(), {}
    with (out / "stderr.log").open("a") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tunebook.finetune", "config.json"], stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env)
        for line in proc.stdout:
            line = line.rstrip("\n")
            try:
                ev = json.loads(line)
            except ValueError:
                print(line)
                continue
            log.add(ev, line)
            progress.update(ev)
            last[ev.get("event")] = ev
        rc = proc.wait()
    if "error" in last:
        raise ColabError(f"the trainer stopped: {last['error']['message']}")
    if rc != 0 or "done" not in last:
        tail = "".join((out / "stderr.log").read_text().splitlines(True)[-15:])
        raise ColabError(f"the trainer exited with status {rc}; the end of {out / 'stderr.log'}:\n{tail}")
    return last["done"]


# ---------------------------------------------------------------- 4. llama.cpp at the pinned commit

def llama_cpp(tag: str, fingerprint: dict[str, str]) -> dict:
    """llama.cpp's source at `tag` (TUNEBOOK_LLAMA_CPP, else cloned) checked against the
    fingerprint of the source tunebook bundles (SHA-256 of a few files), and its libllama
    (TUNEBOOK_LIBLLAMA, else built here: CPU, shared, a few minutes). Returns the paths."""
    src = Path(os.environ.get("TUNEBOOK_LLAMA_CPP") or "llama.cpp")
    if not (src / "CMakeLists.txt").is_file():
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", tag, "https://github.com/ggml-org/llama.cpp",
                        str(src)], check=True)
    differ = [f for f, want in fingerprint.items()
              if not (src / f).is_file() or hashlib.sha256((src / f).read_bytes()).hexdigest() != want]
    if differ:
        raise ColabError(f"{src} is not the llama.cpp tunebook is pinned to ({tag}): {', '.join(differ)} differ; "
                         f"delete {src} and run this cell again")
    lib = os.environ.get("TUNEBOOK_LIBLLAMA")
    if not lib:
        build = src / "build"
        found = sorted(build.glob("bin/libllama.so*"))
        if not found:
            print("building libllama (CPU) from", src, "…")
            subprocess.run(["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                            "-DBUILD_SHARED_LIBS=ON", "-DLLAMA_BUILD_TOOLS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
                            "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_OPENSSL=OFF"],
                           check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["cmake", "--build", str(build), "--target", "llama", "-j", str(os.cpu_count() or 2)],
                           check=True, stdout=subprocess.DEVNULL)
            found = sorted(build.glob("bin/libllama.so*"))
        if not found:
            raise ColabError(f"no libllama.so under {build}/bin after the build; see the cmake output above")
        lib = str(found[0])
    os.environ["TUNEBOOK_LLAMA_CPP"], os.environ["TUNEBOOK_LIBLLAMA"] = str(src.resolve()), str(Path(lib).resolve())
    print(f"llama.cpp {tag}: source {src} (matches the bundled one), library {lib}")
    return {"tag": tag, "source": str(src), "library": lib}


# ---------------------------------------------------------------- 5. the outputs, each with a card

_FALLBACK = re.compile(r"(\S+)\s+-\s+ncols\s+(\d+)\s+not divisible by\s+(\d+)\s+\(required for type\s+(\S+)\)"
                       r"\s*(?:\([^)]*\)\s*)?->\s*falling back to\s+(\S+)")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def gguf_card(path: Path, **extra) -> dict:
    """A JSON card next to a GGUF (`<file>.json`): its hash, size, file type, tensor types and bits
    per weight (read back with gguf-py), plus `extra` (source, type, fallbacks, …)."""
    from .gguf_tools import import_gguf

    gguf = import_gguf()
    reader = gguf.GGUFReader(str(path))
    types: dict[str, dict] = {}
    weights = data_bytes = 0
    for t in reader.tensors:
        name = t.tensor_type.name.lower()
        row = types.setdefault(name, {"tensors": 0, "weights": 0, "bytes": 0})
        row["tensors"] += 1
        row["weights"] += int(t.n_elements)
        row["bytes"] += int(t.n_bytes)
        weights += int(t.n_elements)
        data_bytes += int(t.n_bytes)
    ft = reader.fields.get("general.file_type")
    file_type = None
    if ft is not None:
        code = int(ft.parts[ft.data[0]][0])
        file_type = gguf.LlamaFileType(code).name.removeprefix("MOSTLY_").removeprefix("ALL_")
    kind = reader.fields.get("general.type")
    card = {"path": path.name, "sha256": _sha256(path), "bytes": path.stat().st_size,
            "general_type": bytes(kind.parts[kind.data[0]]).decode() if kind is not None else "model",
            "file_type": file_type, "weights": weights,
            "bits_per_weight": round(8 * data_bytes / max(weights, 1), 4), "tensor_types": types, **extra,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    Path(str(path) + ".json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def export_folder(name: str) -> Path:
    """Where the exports go: TUNEBOOK_EXPORT_DIR, else /content/export in Colab (the runtime's own
    disk: a 7B merged f16 GGUF is 14 GB, more than Drive's free 15 GB leaves), else ./export."""
    root = os.environ.get("TUNEBOOK_EXPORT_DIR") or ("/content/export" if in_colab() else "export")
    path = Path(root) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _available_ram() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def merge_fits(base: Path, available: int | None = None) -> tuple[bool, str]:
    """Whether this runtime's RAM holds the merged export: the exporter (export_gguf.py) keeps the
    whole merged checkpoint and its f16 copy in memory, about 2 bytes × 2 per parameter."""
    from .hf_files import weight_files

    weights = sum(f.stat().st_size for f in weight_files(base))
    params = weights // 2 if weights else 0  # fp16/bf16 checkpoints; an fp32 one only overestimates
    need = 4 * params + (1 << 30)
    available = _available_ram() if available is None else available
    gb = lambda n: f"{n / 2**30:.1f} GB"  # noqa: E731
    if available is None or need <= available:
        return True, f"merged export needs ~{gb(need)} of RAM"
    return False, (f"the merged export of this {gb(weights)} checkpoint needs ~{gb(need)} of RAM and this runtime "
                   f"has {gb(available)} free: skipped. The adapter and lora.gguf are kept (and pushed); apply "
                   "lora.gguf on the base model's GGUF at home (deno task eval --lora …), or run this notebook on a "
                   "runtime with more RAM (Colab Pro's high-RAM) to get the merged and quantized GGUFs")


def export_outputs(out: Path, base_model: str, quant: str, llama: dict, name: str) -> dict:
    """From out/adapter, into `export_folder(name)`: lora.gguf (GGUF LoRA), merged/ (Hugging Face
    checkpoint), <name>-f16.gguf (merged) and <name>-<quant>.gguf (llama.cpp's quantizer), a JSON
    card next to each GGUF. Returns the GGUFs' paths by role; only lora.gguf when the merged export
    does not fit in this runtime's RAM (`merge_fits`; it says so)."""
    from .export_gguf import export
    from .export_lora import export_gguf_lora, export_merged
    from .hf_files import resolve_model_dir

    base = resolve_model_dir(base_model) if not Path(base_model).is_dir() else Path(base_model)
    adapter = out / "adapter"
    dest = export_folder(name)
    ident = {"tag": llama["tag"]}
    lora = export_gguf_lora(adapter, base, dest / "lora.gguf")
    adapter_sha = _sha256(adapter / "adapter_model.safetensors")
    gguf_card(lora, source="adapter/adapter_model.safetensors", source_sha256=adapter_sha, base_model=base_model,
              llama_cpp=ident)
    print(f"{lora}: GGUF LoRA (apply on the base model's GGUF)")
    fits, why = merge_fits(base)
    if not fits:
        print(f"warning: {why}")
        return {"lora": lora}
    merged_dir = dest / "merged"
    export_merged(adapter, base, merged_dir)
    f16 = export(merged_dir, dest / f"{name}-f16.gguf", "f16", name=name)
    gguf_card(f16, source="adapter + base", source_sha256=adapter_sha, base_model=base_model, type="f16",
              llama_cpp=ident)
    print(f"{f16}: merged model (f16)")
    qpath = dest / f"{name}-{quant}.gguf"
    proc = subprocess.run([sys.executable, "-m", "tunebook.llama_lib", "quantize", str(f16), str(qpath), quant],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    if proc.returncode != 0:
        raise ColabError(f"quantizing {f16} to {quant} failed:\n{proc.stderr[-2000:]}")
    log = " ".join(proc.stderr.split())
    fallbacks = [{"tensor": m[0], "ncols": int(m[1]), "block": int(m[2]), "wanted": m[3], "used": m[4]}
                 for m in _FALLBACK.findall(log)]
    card = gguf_card(qpath, source=f16.name, source_sha256=_sha256(f16), type=quant, fallbacks=fallbacks,
                     seconds=json.loads(proc.stdout)["seconds"], llama_cpp={**ident, "library": Path(llama["library"]).name})
    print(f"{qpath}: {quant}, {card['bits_per_weight']} bits per weight, {len(fallbacks)} tensors fell back")
    return {"lora": lora, "merged": f16, "quantized": qpath}


def samples(model: Path | None, rows_file: str, out: Path, n: int = 3, max_tokens: int = 64) -> list[dict]:
    """Greedy generations of the quantized model on the first `n` validation (else training)
    prompts, next to their reference; shown as a table and saved as out/samples.json."""
    if model is None:
        print("no quantized model (the merged export was skipped above): no samples")
        return []
    rows = [json.loads(line) for line in Path(rows_file).read_text().splitlines() if line.strip()][:n]
    prompts = [r.get("prompt") or "".join(m["content"] for m in r.get("messages", [])[:-1]) for r in rows]
    refs = [r.get("completion") or (r.get("messages") or [{}])[-1].get("content", "") for r in rows]
    # In a process of its own: llama.cpp logs to stderr, shown only when something fails.
    proc = subprocess.run([sys.executable, "-m", "tunebook.llama_lib", "generate", str(model), *prompts,
                           "--max-tokens", str(max_tokens)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    if proc.returncode != 0:
        raise ColabError(f"generating with {model} failed:\n{proc.stderr[-2000:]}")
    shown = [{"prompt": g["prompt"], "reference": ref, "generated": g["text"]}
             for g, ref in zip(json.loads(proc.stdout), refs)]
    (out / "samples.json").write_text(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
    try:
        from html import escape

        from IPython.display import HTML, display

        cells = "".join(f"<tr><td><pre>{escape(s['prompt'])}</pre></td><td><pre>{escape(s['reference'])}</pre></td>"
                        f"<td><pre>{escape(s['generated'])}</pre></td></tr>" for s in shown)
        display(HTML(f"<table><tr><th>prompt</th><th>reference</th><th>{model.name}</th></tr>{cells}</table>"))
    except ImportError:
        pass
    for s in shown:
        print(f"--- {s['prompt'][-200:]!r}\n  reference: {s['reference'][:200]!r}\n  generated: {s['generated'][:200]!r}")
    return shown


# ---------------------------------------------------------------- 6. the model card, the push

def model_card(out: Path, config: dict, done: dict, outputs: dict, push_to: str, task: str = "") -> Path:
    """README.md for the Hub repo: what the run was, how it went, the files, how to evaluate."""
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines() if line.strip()]
    losses = [e["loss"] for e in events if e.get("event") == "step"]
    vals = [e["val_loss"] for e in events if e.get("event") == "eval"]
    start = next((e for e in events if e.get("event") == "start"), {})
    data_sha = start.get("data_sha256", "?")
    if isinstance(data_sha, dict):
        data_sha = ", ".join(f"{k} {v}" for k, v in data_sha.items())
    repo = push_to or "<owner>/<repo>"
    rows = "" if "merged" not in outputs else (
        f"| {outputs['merged'].name} | base + adapter merged, f16 GGUF |\n"
        f"| {outputs['quantized'].name} | the merged model quantized with llama.cpp's quantizer |\n")
    evaluate = _eval_command(f"results/train/{repo.replace('/', '--')}", outputs, task)
    q = outputs["quantized"].name if "quantized" in outputs else None
    text = f"""---
base_model: {config['base_model']}
library_name: peft
tags: [tunebook, lora, gguf]
---
# {out.name}: LoRA fine-tune of {config['base_model']}

Trained with tunebook's trainer (backend `{config.get('backend')}`) in Colab: {done['steps']} steps,
LoRA r={config['lora']['r']} alpha={config['lora']['alpha']} on {', '.join(config['lora']['target_modules'])},
data SHA-256: {data_sha} ({start.get('train_examples', '?')} examples).
Loss {losses[0] if losses else '?'} → {losses[-1] if losses else '?'}; validation loss {' → '.join(str(v) for v in (vals[:1] + vals[-1:])) or 'not measured'}.

| file | what |
|---|---|
| adapter/ | PEFT adapter (adapter_config.json, adapter_model.safetensors) |
| lora.gguf | the adapter as a GGUF LoRA, for llama.cpp / node-llama-cpp on the base model's GGUF |
{rows}| *.gguf.json | a card per GGUF: SHA-256, size, types, bits per weight, fallbacks |
| config.json, events.jsonl | the trainer's resolved config and every event of the run |
| samples.json | greedy generations of {q or 'the quantized model'} on a few prompts |

Evaluate it with tunebook:

    deno task hub:pull {repo}
    {evaluate}
"""
    path = out / "README.md"
    path.write_text(text)
    return path


def run_files(out: Path, outputs: dict, base_model: str, quant: str, task: str = "") -> list[tuple[str, Path]]:
    """Write the manifest (out/tunebook_run.json) and return what goes back home as (path in the
    repo, local path): the run folder's small files (no checkpoints) and each GGUF with its card
    (not the merged/ checkpoint folder: the merged GGUF carries it)."""
    names = ["README.md", "config.json", "events.jsonl", "adapter/adapter_config.json",
             "adapter/adapter_model.safetensors", "samples.json"]
    files = [(f, out / f) for f in names if (out / f).is_file()]
    for p in outputs.values():
        files += [(p.name, p), (p.name + ".json", Path(str(p) + ".json"))]
    manifest = {"format": 1, "base_model": base_model, "files": [f for f, _ in files] + [MANIFEST],
                "gguf": {k: p.name for k, p in outputs.items()}, "quant": quant, "task": task or None}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return files + [(MANIFEST, out / MANIFEST)]


def _eval_command(folder: str, outputs: dict, task: str) -> str:
    tasks = f"--tasks {task or '<task>'}"
    if "quantized" in outputs:
        return f"deno task eval --model {folder}/{outputs['quantized'].name} {tasks}"
    return f"deno task eval --model <the base model's GGUF> --lora {folder}/lora.gguf {tasks}"


def _eval_hint(repo: str, outputs: dict, task: str) -> str:
    folder = "results/train/" + repo.replace("/", "--")
    return f"back home:\n  deno task hub:pull {repo}\n  {_eval_command(folder, outputs, task)}"


def push(out: Path, push_to: str, outputs: dict, base_model: str, quant: str, task: str = "",
         private: bool = True) -> list[str]:
    """Upload the run's files (`run_files`) to the Hub repo `push_to` in one commit, creating the
    repo private unless `private` is False."""
    from huggingface_hub import CommitOperationAdd, HfApi

    files = run_files(out, outputs, base_model, quant, task)
    api = HfApi(endpoint=_endpoint(), token=os.environ.get("HF_TOKEN"))
    api.create_repo(push_to, private=private, exist_ok=True, repo_type="model")
    ops = [CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(local)) for f, local in files]
    api.create_commit(push_to, operations=ops, commit_message=f"tunebook run {out.name}", repo_type="model")
    print(f"pushed {len(ops)} files to {_endpoint()}/{push_to} ({'private' if private else 'public'})")
    print(_eval_hint(push_to, outputs, task))
    return [f for f, _ in files]


def archive(out: Path, outputs: dict, base_model: str, quant: str, task: str = "") -> Path:
    """artifacts.zip of the run's files (`run_files`), downloaded in Colab; unzip it into
    results/train/<name>/ at home."""
    import zipfile

    path = Path("artifacts.zip")
    with zipfile.ZipFile(path, "w") as z:
        for f, local in run_files(out, outputs, base_model, quant, task):
            z.write(local, f)
    if in_colab():
        from google.colab import files

        files.download(str(path))
    print(f"{path}: unzip it into results/train/{out.name}/, then\n  "
          f"{_eval_command(f'results/train/{out.name}', outputs, task)}")
    return path
