"""tunebook's `datasets` stand-in and the lm-eval hook runner.

The stand-in must behave as `datasets.Dataset` does for what lm-eval task hooks use; the expected
values below follow datasets' documented semantics (map updates rows, remove_columns is applied
before the update, batched map may change the number of rows only when the old columns go,
shuffle(seed) is numpy's default_rng permutation).
"""

import io
import json

import numpy as np
import pytest

from tunebook import datasets_stand_in as datasets
from tunebook import lm_eval_hooks

ROWS = [
    {"q": "a?", "label": "1", "n": 1},
    {"q": "b?", "label": "0", "n": 2},
    {"q": "c?", "label": "1", "n": 3},
]


def test_map_updates_rows_and_keeps_other_columns():
    ds = datasets.Dataset.from_list(ROWS)
    out = ds.map(lambda d: {"query": d["q"].upper(), "gold": int(d["label"])})
    assert out.column_names == ["q", "label", "n", "query", "gold"]
    assert out[0] == {"q": "a?", "label": "1", "n": 1, "query": "A?", "gold": 1}
    assert len(out) == 3 and len(ds) == 3
    assert ds[0] == ROWS[0], "map does not change the dataset it is called on"


def test_map_remove_columns_with_indices_input_columns_and_in_place():
    ds = datasets.Dataset.from_list(ROWS)
    out = ds.map(lambda d, i: {"i": i, "q": d["q"] * 2}, with_indices=True, remove_columns=["n", "q"])
    assert out.column_names == ["label", "i", "q"], "removed columns come back only when returned"
    assert out["q"] == ["a?a?", "b?b?", "c?c?"] and out["i"] == [0, 1, 2]
    assert ds.map(lambda q: {"len": len(q)}, input_columns="q")["len"] == [2, 2, 2]

    def edit(d):
        d["q"] = d["q"].strip("?")
        return d

    assert ds.map(edit)["q"] == ["a", "b", "c"]
    assert ds.map(edit, remove_columns=["n"]).column_names == ["q", "label"]


def test_batched_map_may_change_row_count_only_without_old_columns():
    ds = datasets.Dataset.from_list(ROWS)
    doubled = ds.map(lambda b: {"x": b["n"] * 2}, batched=True, batch_size=2, remove_columns=ds.column_names)
    assert doubled["x"] == [1, 2, 1, 2, 3, 3]
    with pytest.raises(ValueError, match="Column lengths mismatch"):
        ds.map(lambda b: {"x": b["n"] * 2}, batched=True)
    assert ds.map(lambda b: {"m": [v * 10 for v in b["n"]]}, batched=True)["m"] == [10, 20, 30]


def test_filter_select_shuffle_sort_and_columns():
    ds = datasets.Dataset.from_list(ROWS)
    assert ds.filter(lambda d: d["label"] == "1")["q"] == ["a?", "c?"]
    assert ds.filter(lambda d, i: i > 0, with_indices=True)["n"] == [2, 3]
    assert ds.filter(lambda b: [x > 1 for x in b["n"]], batched=True)["n"] == [2, 3]
    assert ds.select([2, 0])["n"] == [3, 1]
    order = np.random.default_rng(42).permutation(3).tolist()
    assert ds.shuffle(seed=42)["n"] == [ROWS[i]["n"] for i in order]
    assert ds.sort("n", reverse=True)["n"] == [3, 2, 1]
    assert ds[1:]["q"] == ["b?", "c?"] and ds[-1]["q"] == "c?"
    assert ds.rename_column("q", "question").column_names == ["question", "label", "n"]
    assert ds.remove_columns("n").select_columns(["q"]).to_list() == [{"q": "a?"}, {"q": "b?"}, {"q": "c?"}]
    assert ds.unique("label") == ["1", "0"]
    assert [r["n"] for r in ds] == [1, 2, 3]
    assert ds.features["n"] == datasets.Value("int64")
    assert datasets.Dataset.from_dict({"a": [1, 2]}).to_list() == [{"a": 1}, {"a": 2}]
    assert len(datasets.concatenate_datasets([ds, ds])) == 6


def test_loaders_are_refused_with_the_reason():
    with pytest.raises(datasets.StandInError, match="load_dataset is not provided"):
        datasets.load_dataset("x")
    with pytest.raises(datasets.StandInError, match="IterableDataset is not provided"):
        datasets.IterableDataset  # noqa: B018


def _serve(requests, tmp_path, monkeypatch):
    lm_eval_hooks.install_stand_in()
    out = io.StringIO()
    lm_eval_hooks.serve(io.StringIO("\n".join(json.dumps(r) for r in requests) + "\n"), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_runner_process_docs_per_row_hooks_and_errors(tmp_path, monkeypatch):
    (tmp_path / "utils.py").write_text(
        "import datasets\n"
        "def process_docs(dataset: datasets.Dataset) -> datasets.Dataset:\n"
        "    return dataset.map(lambda d: {'query': 'Q: ' + d['q'], 'gold': int(d['label'])})\n"
        "def doc_to_text(doc):\n"
        "    return doc['query'] + '\\nA:'\n"
        "def score(doc, results):\n"
        "    ll, greedy = results[0]\n"
        "    return {'acc': float(greedy), 'pair': (ll, len(doc['q'])), 'nan': float('nan')}\n"
        "def fails(doc):\n"
        "    return doc['missing']\n"
    )
    (tmp_path / "broken.py").write_text("import definitely_not_installed_module\n")
    module = str(tmp_path / "utils.py")
    answers = _serve(
        [
            {"id": 1, "op": "process_docs", "module": module, "function": "process_docs", "rows": ROWS},
            {"id": 2, "op": "map_docs", "module": module, "function": "doc_to_text", "rows": [{"query": "Q: x"}]},
            {"id": 3, "op": "map_docs", "module": module, "function": "fails", "rows": [{"q": 1}]},
            {
                "id": 4,
                "op": "process_results",
                "module": module,
                "function": "score",
                "items": [{"doc": {"q": "abc"}, "results": [{"__tuple__": [-1.5, True]}]}],
            },
            {"id": 5, "op": "map_docs", "module": str(tmp_path / "broken.py"), "function": "f", "rows": []},
            {"id": 6, "op": "map_docs", "module": module, "function": "nope", "rows": []},
        ],
        tmp_path,
        monkeypatch,
    )
    assert [a["id"] for a in answers] == [1, 2, 3, 4, 5, 6]
    assert answers[0]["ok"] and answers[0]["rows"][0]["query"] == "Q: a?" and answers[0]["rows"][1]["gold"] == 0
    assert answers[1]["values"] == [{"value": "Q: x\nA:"}]
    err = answers[2]["values"][0]["error"]
    assert err["type"] == "KeyError" and err["where"].startswith("utils.py:10 in fails")
    assert answers[3]["values"][0]["value"] == {
        "acc": 1.0,
        "pair": {"__tuple__": [-1.5, 3]},
        "nan": {"__float__": "nan"},
    }
    assert answers[4]["ok"] is False
    assert answers[4]["error"]["kind"] == "import"
    assert answers[4]["error"]["module"] == "definitely_not_installed_module"
    assert answers[5]["error"]["kind"] == "no_function" and "doc_to_text" in answers[5]["error"]["available"]
