"""Check a checkpoint against Hugging Face transformers and llama.cpp's own converter.

    python3 -m tunebook.check_hf data/models/tiny [--llama-cpp .cache/llama.cpp] [--out check.json]

Needs transformers (a GPU machine has it; the CPU path of tunebook never does). It:
1. loads the directory with `transformers.LlamaForCausalLM` and `LlamaTokenizer`, and compares
   tokenization and next-token logits with the pure-torch model on 5 prompts;
2. runs llama.cpp's `convert_hf_to_gguf.py --outtype f32` on it (when the source is given) and
   compares every tensor with tunebook's own GGUF export.
Prints one JSON object with the measured differences.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .model import load_checkpoint
from .tokenizer import load_tokenizer

PROMPTS = [
    "Question: What is 7 plus 5?\nAnswer:",
    "The capital of",
    "All wugs are daxes. Tom is a wug. So",
    "Context: Mara lives in Oslo.\nQuestion: Where does Mara live?\nAnswer:",
    "  double  spaces, digits 12345 and Ünïcödé\n\nnewlines",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--llama-cpp", type=Path)
    ap.add_argument("--ours", type=Path, help="tunebook's GGUF of the same checkpoint")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    import transformers

    report: dict = {"transformers": transformers.__version__, "torch": torch.__version__}
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    report["device"] = torch.cuda.get_device_name(0) if dev == "cuda" else "cpu"
    hf = transformers.LlamaForCausalLM.from_pretrained(a.model_dir, torch_dtype=torch.float32).to(dev).eval()
    hf_tok = transformers.LlamaTokenizer.from_pretrained(a.model_dir)
    ours, sp = load_checkpoint(a.model_dir).to(dev), load_tokenizer(a.model_dir)
    rows = []
    with torch.no_grad():
        for text in PROMPTS:
            ids = [sp.bos_id()] + sp.encode(text)
            hf_ids = hf_tok(text)["input_ids"]
            x = torch.tensor([ids], device=dev)
            a_logits = ours(x)[0, -1].double()
            b_logits = hf(x).logits[0, -1].double()
            rng = (a_logits.max() - a_logits.min()).item()
            rows.append({
                "prompt": text,
                "same_tokens": hf_ids == ids,
                "max_abs_logit_diff": (a_logits - b_logits).abs().max().item(),
                "logit_range": rng,
            })
    report["prompts"] = rows
    report["logits_match"] = all(r["same_tokens"] and r["max_abs_logit_diff"] <= 1e-3 * r["logit_range"] for r in rows)
    if a.llama_cpp and a.ours:
        sys.path.insert(0, str(a.llama_cpp / "gguf-py"))
        import gguf

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "official.gguf"
            t = time.time()
            proc = subprocess.run(
                [sys.executable, str(a.llama_cpp / "convert_hf_to_gguf.py"), str(a.model_dir), "--outtype", "f32", "--outfile", str(out)],
                capture_output=True, text=True, env={"PYTHONPATH": str(a.llama_cpp / "gguf-py"), "PATH": "/usr/bin:/bin"},
            )
            conv = {"returncode": proc.returncode, "seconds": round(time.time() - t, 1), "stderr_tail": proc.stderr[-800:]}
            if proc.returncode == 0:
                theirs = {t.name: np.array(t.data) for t in gguf.GGUFReader(str(out)).tensors}
                mine = {t.name: np.array(t.data) for t in gguf.GGUFReader(str(a.ours)).tensors}
                conv["same_tensor_names"] = sorted(theirs) == sorted(mine)
                conv["max_abs_tensor_diff"] = max(float(np.abs(theirs[k].astype(np.float64) - mine[k].astype(np.float64)).max()) for k in mine if k in theirs)
            report["convert_hf_to_gguf"] = conv
    text = json.dumps(report, indent=2)
    if a.out:
        a.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
