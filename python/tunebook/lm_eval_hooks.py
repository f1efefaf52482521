"""Run lm-evaluation-harness task hooks (`!function module.fn` in a task YAML) for tunebook.

tunebook reads task files and data in TypeScript; where a task names Python code —
`process_docs`, `doc_to_text`, `doc_to_target`, `doc_to_choice`, `process_results` — the
TypeScript side (lib/eval/task/hooks.ts) starts this module and sends it requests, one JSON object
per line on stdin; each answer is one JSON line on stdout:

    {"id": 1, "op": "process_docs", "module": "/abs/utils.py", "function": "process_docs",
     "rows": [...]}                                   -> {"id": 1, "ok": true, "rows": [...]}
    {"id": 2, "op": "map_docs", ..., "rows": [...]}   -> {"id": 2, "ok": true,
                                                         "values": [{"value": v} | {"error": {...}}]}
    {"id": 3, "op": "process_results", ..., "items": [{"doc": {...}, "results": [...]}]}
                                                      -> {"id": 3, "ok": true, "values": [...]}

A request that cannot run at all (the module is missing, imports something that is not
installed, or lacks the function) answers {"ok": false, "error": {"kind": ..., ...}}; a hook that
raises on one row answers that row's {"error": {...}} and the others still run.

The module is loaded as lm-eval loads it (from its path, named after the file), with its folder
first on sys.path; `import datasets` gets tunebook's stand-in (tunebook.datasets_stand_in). What a
hook prints goes to stderr, so it cannot break the protocol. JSON cannot carry tuples, NaN or
infinities: `{"__tuple__": [...]}` and `{"__float__": "nan" | "inf" | "-inf"}` stand for them
in both directions.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import traceback

from tunebook import datasets_stand_in

_modules: dict[str, tuple[float, object]] = {}


class HookFailure(Exception):
    """A request that cannot run; `info` is the error object sent back."""

    def __init__(self, info):
        super().__init__(info.get("message", ""))
        self.info = info


def install_stand_in():
    """Make `import datasets` give the stand-in (before any hook module is imported)."""
    sys.modules["datasets"] = datasets_stand_in


def load_function(module_path, name):
    """The function `name` of the module file `module_path`, loaded once per file version."""
    if not os.path.isfile(module_path):
        raise HookFailure({"kind": "no_module_file", "message": f"{module_path} does not exist"})
    mtime = os.path.getmtime(module_path)
    cached = _modules.get(module_path)
    if cached and cached[0] == mtime:
        module = cached[1]
    else:
        folder = os.path.dirname(module_path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        module_name = os.path.splitext(os.path.basename(module_path))[0]
        spec = importlib.util.spec_from_file_location(module_name, module_path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except ModuleNotFoundError as e:
            raise HookFailure(
                {
                    "kind": "import",
                    "module": e.name or str(e),
                    "message": str(e),
                    "where": _where(e, module_path),
                }
            ) from e
        except Exception as e:
            raise HookFailure(
                {
                    "kind": "module_error",
                    "type": type(e).__name__,
                    "message": str(e),
                    "where": _where(e, module_path),
                }
            ) from e
        _modules[module_path] = (mtime, module)
    fn = getattr(module, name, None)
    if not callable(fn):
        available = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
        raise HookFailure({"kind": "no_function", "message": f"no function {name}", "available": available})
    return fn


def _where(e, module_path=None):
    """`file:line in function` of the deepest frame in the hook's own files (else the last)."""
    frames = traceback.extract_tb(e.__traceback__)
    if not frames:
        return ""
    mine = [f for f in frames if module_path and os.path.dirname(f.filename) == os.path.dirname(module_path)]
    f = (mine or frames)[-1]
    return f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}"


def _row_error(e, module_path):
    return {"type": type(e).__name__, "message": str(e), "where": _where(e, module_path)}


def encode(value):
    """A hook's result as JSON-ready data (see the module docstring for tuples and floats)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return {"__float__": "nan"}
        if math.isinf(value):
            return {"__float__": "inf" if value > 0 else "-inf"}
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return [encode(v) for v in sorted(value, key=repr)]
    if isinstance(value, datasets_stand_in.Dataset):
        return [encode(r) for r in value.to_list()]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return encode(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return encode(tolist())
    raise TypeError(f"a {type(value).__name__} cannot be passed back to tunebook (only JSON-like values)")


def decode(value):
    """Request data back into Python values."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(decode(v) for v in value["__tuple__"])
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: decode(v) for k, v in value.items()}
    return value


def op_process_docs(req):
    fn = load_function(req["module"], req["function"])
    dataset = datasets_stand_in.Dataset.from_list(decode(req["rows"]))
    try:
        out = fn(dataset)
    except Exception as e:
        raise HookFailure({"kind": "exception", **_row_error(e, req["module"])}) from e
    if isinstance(out, datasets_stand_in.Dataset):
        rows = out.to_list()
    elif isinstance(out, list) and all(isinstance(r, dict) for r in out):
        rows = out
    else:
        raise HookFailure(
            {
                "kind": "bad_result",
                "message": f"process_docs returned a {type(out).__name__}; it must return a datasets.Dataset (or a list of dicts)",
            }
        )
    return {"rows": encode(rows)}


def op_map_docs(req):
    fn = load_function(req["module"], req["function"])
    values = []
    for row in decode(req["rows"]):
        try:
            values.append({"value": encode(fn(row))})
        except Exception as e:
            values.append({"error": _row_error(e, req["module"])})
    return {"values": values}


def op_process_results(req):
    fn = load_function(req["module"], req["function"])
    values = []
    for item in decode(req["items"]):
        try:
            out = fn(item["doc"], item["results"])
            if not isinstance(out, dict):
                raise TypeError(f"process_results returned a {type(out).__name__}; it must return a dict of metric values")
            values.append({"value": encode(out)})
        except Exception as e:
            values.append({"error": _row_error(e, req["module"])})
    return {"values": values}


OPS = {"process_docs": op_process_docs, "map_docs": op_map_docs, "process_results": op_process_results}


def serve(stdin, stdout):
    """Answer requests until stdin closes."""
    for line in stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        answer = {"id": req.get("id")}
        try:
            op = OPS.get(req.get("op"))
            if op is None:
                raise HookFailure({"kind": "bad_request", "message": f"unknown op {req.get('op')!r}"})
            answer.update(ok=True, **op(req))
        except HookFailure as e:
            answer.update(ok=False, error=e.info)
        except Exception as e:  # a bug here, not in the hook: report it whole
            answer.update(ok=False, error={"kind": "internal", "message": traceback.format_exc(), "type": type(e).__name__})
        stdout.write(json.dumps(answer, allow_nan=False) + "\n")
        stdout.flush()


def main():
    install_stand_in()
    # The protocol keeps the original stdout; everything else written to fd 1 (a hook's print,
    # a C extension's output) goes to stderr, so it cannot break the protocol.
    sys.stdout.flush()
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin, protocol)


if __name__ == "__main__":
    main()
