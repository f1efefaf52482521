"""Training rows -> token ids and labels, the same for every backend.

Two row shapes (JSONL, one object a line; finetune.read_rows checks them):
- `{"prompt", "completion"}`: BOS when the model adds one, `prompt + completion` tokenized once,
  one EOS after it; the boundary is lm-evaluation-harness's (the prompt's trailing whitespace
  moves to the completion), and checked: where a token spans it (the prompt's tokens are not a
  prefix of the whole's), the boundary falls before that token, so the completion is always in
  the loss (special_tokens.encode_pair; counted as `boundary_merged`). Completion-only loss masks
  the prompt's tokens.
- `{"messages": [{"role", "content"}, …]}`: rendered with the model's chat template (the text
  transformers' `apply_chat_template` gives), tokenized once; with completion-only loss, the loss
  is on the assistant turns only — each turn's text is what the template adds to the conversation
  before it rendered with `add_generation_prompt`, so the model learns exactly what it is asked to
  write when served. The template's end-of-turn token (`<|im_end|>`, `<|eot_id|>`, `</s>`) is in
  the turn; EOS is appended only when the last turn has no stop token.

An example is (ids, labels): labels are the ids where the loss is taken and IGNORE elsewhere.
Rows longer than max_seq_len tokens are not cut (a cut completion teaches a wrong answer): they
are left out and counted, for training and validation alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .special_tokens import encode_pair, prompt_tokens
from .text_encoder import TextEncoder

IGNORE = -100


class RowError(ValueError):
    """A row that cannot become an example; the message names the field."""


@dataclass
class Encoded:
    """The examples of one file and what was left out."""

    examples: list[tuple[list[int], list[int]]] = field(default_factory=list)
    too_long: list[int] = field(default_factory=list)  # line numbers
    boundary_merged: int = 0


def _with_bos(ids: list[int], enc: TextEncoder) -> list[int]:
    # A text whose tokenizer already read a BOS token at its start (a template wrote it) gets no second one.
    return [enc.bos] + ids if enc.add_bos and enc.bos is not None and ids[:1] != [enc.bos] else ids


def encode_messages(messages: list[dict], enc: TextEncoder, completion_only: bool) -> tuple[list[int], list[int]]:
    """(ids, labels) of a conversation; loss on the assistant turns (all tokens without completion_only)."""
    full = enc.render_chat(messages, add_generation_prompt=False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = enc.render_chat(messages[:i], add_generation_prompt=True)
        upto = enc.render_chat(messages[: i + 1], add_generation_prompt=False)
        if not upto.startswith(before) or not full.startswith(upto):
            raise RowError(f"messages[{i}]: the chat template does not render this conversation turn by turn (the text "
                           "before this assistant turn is not a prefix of the conversation's), so the turn's tokens "
                           "cannot be told apart; give the row as prompt/completion instead")
        spans.append((len(before), len(upto)))
    if not spans:
        raise RowError('messages: no turn with role "assistant", so there is nothing to learn')
    text_ids = enc.encode(full)
    ids = _with_bos(text_ids, enc)
    lead = len(ids) - len(text_ids)  # 1 when a BOS was put in front

    def token_at(chars: int) -> int:
        return lead + prompt_tokens(ids[lead:], enc.encode(full[:chars])) if chars else lead

    labels = [IGNORE] * len(ids) if completion_only else list(ids)
    if completion_only:
        for start, end in spans:
            a, b = token_at(start), token_at(end)
            labels[a:b] = ids[a:b]
    last_start = token_at(spans[-1][0])
    if enc.eos is not None and not enc.stop_ids.intersection(ids[last_start:]):
        ids, labels = ids + [enc.eos], labels + [enc.eos]
    return ids, labels


def encode_row(row: dict, enc: TextEncoder, completion_only: bool) -> tuple[list[int], list[int], bool]:
    """(ids, labels, boundary merged) of one row."""
    if "messages" in row:
        ids, labels = encode_messages(row["messages"], enc, completion_only)
        return ids, labels, False
    ids, n_prompt, merged = encode_pair(row["prompt"], row["completion"], enc.encode, enc.bos, enc.eos, enc.add_bos)
    labels = [IGNORE] * n_prompt + ids[n_prompt:] if completion_only else list(ids)
    return ids, labels, merged


def encode_rows(rows: list[tuple[int, dict]], enc: TextEncoder, max_len: int, completion_only: bool,
                where: str) -> Encoded:
    """Every (line, row) of a file; a row that cannot be encoded raises RowError naming `where:line`."""
    out = Encoded()
    for line, row in rows:
        try:
            ids, labels, merged = encode_row(row, enc, completion_only)
        except ValueError as e:  # RowError, ChatTemplateError, NoChatTemplate
            raise RowError(f"{where}:{line}: {e}") from e
        if len(ids) > max_len:
            out.too_long.append(line)
            continue
        out.boundary_merged += merged
        out.examples.append((ids, labels))
    return out
