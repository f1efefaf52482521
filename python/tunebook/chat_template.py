"""A model's chat template, rendered as transformers' `apply_chat_template(tokenize=False)` renders it.

    from tunebook.chat_template import ChatTemplate, read_chat_template
    t = ChatTemplate(read_chat_template(model_dir), bos_token="<s>", eos_token="</s>")
    t.render([{"role": "user", "content": "2+2?"}], add_generation_prompt=True)

The same Jinja environment as transformers (sandboxed, `trim_blocks`, `lstrip_blocks`, `tojson`,
`raise_exception`, `strftime_now`, loop controls, and `{% generation %}` blocks rendered as their
body), so the CPU trainer renders what the `hf` backend's tokenizer renders. Needs jinja2 (Debian:
python3-jinja2).
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path


def read_chat_template(model_dir: Path) -> str | None:
    """The checkpoint's chat template: `chat_template.jinja`, else tokenizer_config.json's
    `chat_template` (a string, or a list of named ones: the "default"); None when it has none."""
    d = Path(model_dir)
    if (d / "chat_template.jinja").is_file():
        return (d / "chat_template.jinja").read_text(encoding="utf-8")
    for name in ("chat_template.json", "tokenizer_config.json"):
        path = d / name
        if not path.is_file():
            continue
        try:
            value = json.loads(path.read_text(encoding="utf-8")).get("chat_template")
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from e
        if isinstance(value, list):
            named = {t.get("name"): t.get("template") for t in value if isinstance(t, dict)}
            value = named.get("default") or next(iter(named.values()), None)
        if isinstance(value, str) and value:
            return value
    return None


class ChatTemplateError(ValueError):
    """The template rejected a conversation (its raise_exception, or a Jinja error)."""


class ChatTemplate:
    """A compiled chat template and the special-token texts it may use."""

    def __init__(self, source: str, **special_tokens: str | None):
        import jinja2
        from jinja2.ext import Extension, loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        class Generation(Extension):
            """`{% generation %}…{% endgeneration %}` (transformers' assistant-mask markers): the body."""

            tags = {"generation"}

            def parse(self, parser):
                lineno = next(parser.stream).lineno
                body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
                return jinja2.nodes.Scope(body).set_lineno(lineno)

        def raise_exception(message):
            raise ChatTemplateError(message)

        def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
            return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
        env.filters["tojson"] = tojson
        env.globals["raise_exception"] = raise_exception
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        self.source = source
        self.template = env.from_string(source)
        self.special_tokens = {k: v for k, v in special_tokens.items() if v is not None}

    def render(self, messages: list[dict], add_generation_prompt: bool = False) -> str:
        import jinja2

        try:
            return self.template.render(messages=messages, add_generation_prompt=add_generation_prompt, tools=None,
                                        documents=None, **self.special_tokens)
        except ChatTemplateError:
            raise
        except jinja2.TemplateError as e:
            raise ChatTemplateError(f"the chat template failed: {e}") from e
