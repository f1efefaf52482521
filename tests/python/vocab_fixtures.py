"""Real vocabularies for tests: llama.cpp's `models/ggml-vocab-*.gguf` (bundled in its source) turned
into what a Hugging Face checkpoint carries (`tokenizer.json`, `tokenizer_config.json`), and their
tokenizer test vectors (`*.gguf.inp` / `*.gguf.out`, written by llama.cpp from the reference
tokenizers)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from tunebook.bpe import PRE_TOKENIZERS
from tunebook.gguf_tools import LLAMA_CPP, import_gguf

MODELS = LLAMA_CPP / "models"
CONTROL, USER_DEFINED = 3, 4


def vocab_path(name: str) -> Path:
    return MODELS / f"ggml-vocab-{name}.gguf"


@lru_cache(maxsize=None)
def _meta(name: str) -> dict:
    """The vocabulary file's metadata as {key: (value type, value)}; strings stay bytes."""
    gguf = import_gguf()
    out = {}
    for key, field in gguf.GGUFReader(str(vocab_path(name))).fields.items():
        kind = field.types[-1]
        items = [field.parts[i] for i in field.data]
        values = [bytes(x) if kind == gguf.GGUFValueType.STRING else x.tolist()[0] for x in items]
        out[key] = (field.types[0], values if field.types[0] == gguf.GGUFValueType.ARRAY else values[0])
    return out


def _value(meta: dict, key: str, default=None):
    v = meta.get(key)
    if v is None:
        return default
    value = v[1]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [x.decode("utf-8") for x in value]
    return value


@lru_cache(maxsize=None)
def tokenizer_json(name: str) -> dict:
    """The tokenizer.json of a byte-level BPE vocabulary (llama-bpe: Llama 3; qwen2: Qwen2/2.5)."""
    meta = _meta(name)
    assert _value(meta, "tokenizer.ggml.model") == "gpt2", f"{name} is not a byte-level BPE vocabulary"
    pre = _value(meta, "tokenizer.ggml.pre")
    tokens = _value(meta, "tokenizer.ggml.tokens")
    types = _value(meta, "tokenizer.ggml.token_type")
    merges = _value(meta, "tokenizer.ggml.merges")
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": types[i] == CONTROL} for i, t in enumerate(tokens) if types[i] in (CONTROL, USER_DEFINED)]
    return {
        "version": "1.0",
        "added_tokens": added,
        "normalizer": {"type": "NFC"} if pre == "qwen2" else None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": PRE_TOKENIZERS[pre]}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": pre == "llama-bpe",
                  "vocab": {t: i for i, t in enumerate(tokens) if types[i] not in (CONTROL, USER_DEFINED)},
                  "merges": merges},
    }


def special_ids(name: str) -> dict:
    """bos/eos/pad ids and add_bos as the vocabulary file says."""
    meta = _meta(name)
    return {"bos": _value(meta, "tokenizer.ggml.bos_token_id"), "eos": _value(meta, "tokenizer.ggml.eos_token_id"),
            "pad": _value(meta, "tokenizer.ggml.padding_token_id"),
            "add_bos": bool(_value(meta, "tokenizer.ggml.add_bos_token", False)),
            "chat_template": _value(meta, "tokenizer.chat_template")}


def token_text(name: str, i: int) -> str:
    return _value(_meta(name), "tokenizer.ggml.tokens")[i]


def vectors(name: str) -> list[tuple[str, list[int]]]:
    """llama.cpp's tokenizer test vectors for the vocabulary: (text, token ids)."""
    inp = (MODELS / f"ggml-vocab-{name}.gguf.inp").read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")
    out = (MODELS / f"ggml-vocab-{name}.gguf.out").read_text(encoding="utf-8").split("\n")
    texts = inp[:-1] if inp[-1] == "" else inp
    return [(t, [int(x) for x in line.split()]) for t, line in zip(texts, out)]


LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# Mistral-7B-Instruct-v0.2's template ([INST] … [/INST] turns, user first, alternating).
MISTRAL_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)

# Two real shapes, shrunk: Qwen2.5-Instruct (qwen2, q/k/v biases, tied embeddings, rope_theta 1e6) and
# Llama-3.2-Instruct (llama, rope_scaling llama3, tied embeddings), each with its real vocabulary.
SHAPES = {
    "qwen2": {"vocab": "qwen2", "model_type": "qwen2", "vocab_size": 151936, "rope_theta": 1000000.0,
              "tie_word_embeddings": True, "bos": None, "eos": "<|im_end|>", "pad": "<|endoftext|>", "generation_eos": [151645, 151643]},
    "llama3": {"vocab": "llama-bpe", "model_type": "llama", "vocab_size": 128256, "rope_theta": 500000.0,
               "tie_word_embeddings": True, "bos": "<|begin_of_text|>", "eos": "<|eot_id|>", "pad": None,
               "generation_eos": [128001, 128008, 128009],
               "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                "original_max_position_embeddings": 8192, "rope_type": "llama3"}},
    # Mistral's architecture (MistralForCausalLM: untied output, rope_theta 1e6, a sliding_window
    # key) around a byte-level BPE vocabulary, as Mistral-Nemo and Mistral-Small-3 have (their
    # tekken vocabulary is not among llama.cpp's bundled ones; Llama 3's stands in for it).
    "mistral": {"vocab": "llama-bpe", "model_type": "mistral", "vocab_size": 128256, "rope_theta": 1000000.0,
                "tie_word_embeddings": False, "bos": "<|begin_of_text|>", "eos": "<|end_of_text|>", "pad": None,
                "generation_eos": [128001], "sliding_window": 4096},
}


def write_hf_checkpoint(out: Path, shape: str, layers: int = 2, hidden: int = 64, heads: int = 4, kv_heads: int = 2,
                        ff: int = 128, shards: int = 1, seed: int = 0) -> Path:
    """A random-weight Hugging Face checkpoint folder of a real architecture with its real vocabulary:
    config.json, safetensors (in `shards` files with an index when > 1), tokenizer.json,
    tokenizer_config.json (special tokens, chat template), generation_config.json."""
    import torch

    from tunebook.model import Llama, LlamaConfig
    from tunebook.safetensors_io import save_safetensors

    s = SHAPES[shape]
    name = s["vocab"]
    tj = json.loads(json.dumps(tokenizer_json(name)))
    ids = {t["content"]: t["id"] for t in tj["added_tokens"]}
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=s["vocab_size"], hidden_size=hidden, intermediate_size=ff, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=4096,
                      rms_norm_eps=1e-6, rope_theta=s["rope_theta"], tie_word_embeddings=s["tie_word_embeddings"],
                      bos_token_id=ids.get(s["bos"]) if s["bos"] else None, eos_token_id=s["generation_eos"],
                      model_type=s["model_type"], rope_scaling=s.get("rope_scaling"),
                      sliding_window=s.get("sliding_window"))
    model = Llama(cfg)
    with torch.no_grad():
        for p in model.parameters():  # weights large enough that logits differ visibly between tokens
            p.normal_(0, 0.2 if p.dim() > 1 else 0.05)
            if p.dim() == 1 and p.shape[0] == hidden:
                p.add_(1.0)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg.to_hf(), indent=2) + "\n")
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if cfg.tie_word_embeddings:
        state.pop("lm_head.weight")
    names = sorted(state)
    if shards == 1:
        save_safetensors(out / "model.safetensors", state, metadata={"format": "pt"})
    else:
        weight_map = {}
        for k in range(shards):
            file = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: state[n] for n in names[k::shards]}
            save_safetensors(out / file, part, metadata={"format": "pt"})
            weight_map.update({n: file for n in part})
        index = {"metadata": {"total_size": sum(t.numel() * t.element_size() for t in state.values())}, "weight_map": weight_map}
        (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    if s["bos"]:  # Llama 3's post-processor puts BOS first
        tj["post_processor"] = {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": s["bos"], "type_id": 0}},
                                                                          {"Sequence": {"id": "A", "type_id": 0}}],
                                "pair": [], "special_tokens": {s["bos"]: {"id": s["bos"], "ids": [ids[s["bos"]]], "tokens": [s["bos"]]}}}
    (out / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False))
    # Each architecture's own chat template: Qwen2's is in its vocabulary file; llama-bpe's has none.
    template = {"llama3": LLAMA3_CHAT_TEMPLATE, "mistral": MISTRAL_CHAT_TEMPLATE}.get(shape) or special_ids(name)["chat_template"]
    tok_cfg = {"bos_token": s["bos"], "eos_token": s["eos"], "pad_token": s["pad"], "chat_template": template,
               "model_max_length": 4096, "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False}
    (out / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2) + "\n")
    gen = {"bos_token_id": cfg.bos_token_id, "eos_token_id": s["generation_eos"], "do_sample": True, "temperature": 0.6}
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    return out
