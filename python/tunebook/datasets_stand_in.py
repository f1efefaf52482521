"""A small stand-in for Hugging Face's `datasets` package, for lm-eval task hooks.

lm-evaluation-harness task folders carry `utils.py` files that start with `import datasets` and
receive a `datasets.Dataset` in `process_docs`. tunebook has no `datasets` package (and needs
none): its hook runner (`tunebook.lm_eval_hooks`) installs this module as `datasets` before it
imports a task's `utils.py`, and hands `process_docs` a `Dataset` over the rows tunebook read.

What it covers is what the harness's task files use, with `datasets`' semantics:

- `Dataset.from_list`, `from_dict`, `from_generator`, `from_pandas`; `len()`, `num_rows`,
  `column_names`, `features`, `shape`; `ds[i]` (a row), `ds[a:b]` and `ds[[i, j]]` (columns of
  those rows), `ds["col"]` (a column); iteration over rows; `to_list()`, `to_dict()`;
- `map` (a returned dict updates the row: new columns are added, existing ones overwritten;
  `with_indices`, `input_columns`, `batched` / `batch_size`, `remove_columns`, `fn_kwargs`),
  `filter` (same arguments), `select`, `shuffle(seed)` (numpy's permutation, as `datasets`),
  `sort`, `unique`, `flatten`, `rename_column(s)`, `remove_columns`, `select_columns`,
  `add_column`, `take`, `skip`, `train_test_split`; format and cast calls are accepted and change
  nothing;
- `DatasetDict`, `concatenate_datasets`, `Features`, `Value`, `ClassLabel`, `Sequence`, `Split`.

`load_dataset` and the other loaders raise: data comes from tunebook's loader, not from here.
"""

from __future__ import annotations

import copy
import random

__version__ = "0.0.0+tunebook.stand.in"
STAND_IN = True


class StandInError(RuntimeError):
    """Something the stand-in does not provide."""


def _missing(name):
    raise StandInError(
        f"datasets.{name} is not provided by tunebook's datasets stand-in "
        "(python/tunebook/datasets_stand_in.py); tunebook reads the data itself and passes it to "
        "process_docs. Rewrite the hook without it, or preprocess the data into files."
    )


def load_dataset(*args, **kwargs):
    _missing("load_dataset")


def load_from_disk(*args, **kwargs):
    _missing("load_from_disk")


class Split:
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"
    ALL = "all"


class Value:
    def __init__(self, dtype="string", id=None):
        self.dtype = dtype
        self.id = id

    def __repr__(self):
        return f"Value(dtype={self.dtype!r}, id={self.id!r})"

    def __eq__(self, other):
        return isinstance(other, Value) and other.dtype == self.dtype


class ClassLabel:
    def __init__(self, num_classes=None, names=None, names_file=None, id=None):
        if names is None and num_classes is not None:
            names = [str(i) for i in range(num_classes)]
        self.names = list(names or [])
        self.num_classes = len(self.names)
        self.id = id

    def str2int(self, values):
        if isinstance(values, str):
            return self.names.index(values)
        return [self.names.index(v) for v in values]

    def int2str(self, values):
        if isinstance(values, int):
            return self.names[values]
        return [self.names[v] for v in values]

    def __repr__(self):
        return f"ClassLabel(names={self.names!r})"


class Sequence:
    def __init__(self, feature=None, length=-1, id=None):
        self.feature = feature
        self.length = length
        self.id = id

    def __repr__(self):
        return f"Sequence(feature={self.feature!r}, length={self.length})"


class Features(dict):
    """Column name to feature type, as `datasets.Features` (a dict)."""

    def copy(self):
        return Features(self)


def _infer_feature(values):
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            return Value("bool")
        if isinstance(v, int):
            return Value("int64")
        if isinstance(v, float):
            return Value("float64")
        if isinstance(v, str):
            return Value("string")
        if isinstance(v, list):
            return Sequence(_infer_feature(v))
        if isinstance(v, dict):
            return {k: _infer_feature([v[k]]) for k in v}
        return Value(type(v).__name__)
    return Value("null")


def _columns_of(rows):
    cols = []
    seen = set()
    for r in rows:
        for k in r:
            if k not in seen:
                seen.add(k)
                cols.append(k)
    return cols


class Dataset:
    """Rows in memory, with the part of `datasets.Dataset`'s API that task hooks use."""

    def __init__(self, rows=None, features=None, split=None):
        rows = [dict(r) for r in (rows or [])]
        columns = _columns_of(rows)
        for r in rows:  # every row has every column, as in an Arrow table
            for c in columns:
                r.setdefault(c, None)
        self._rows = rows
        self._columns = columns
        self._features = Features(features) if features is not None else None
        self.split = split

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_list(cls, mapping, features=None, info=None, split=None):
        return cls(list(mapping), features=features, split=split)

    @classmethod
    def from_dict(cls, mapping, features=None, info=None, split=None):
        columns = list(mapping)
        lengths = {len(mapping[c]) for c in columns}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: { {c: len(mapping[c]) for c in columns} }")
        n = lengths.pop() if lengths else 0
        return cls([{c: mapping[c][i] for c in columns} for i in range(n)], features=features, split=split)

    @classmethod
    def from_generator(cls, generator, features=None, gen_kwargs=None, **kwargs):
        return cls(list(generator(**(gen_kwargs or {}))), features=features)

    @classmethod
    def from_pandas(cls, df, features=None, info=None, split=None, preserve_index=None):
        return cls(df.to_dict("records"), features=features, split=split)

    # -- shape ---------------------------------------------------------------------------------

    def __len__(self):
        return len(self._rows)

    @property
    def num_rows(self):
        return len(self._rows)

    @property
    def num_columns(self):
        return len(self._columns)

    @property
    def shape(self):
        return (len(self._rows), len(self._columns))

    @property
    def column_names(self):
        return list(self._columns)

    @property
    def features(self):
        if self._features is not None:
            return Features({c: self._features.get(c, _infer_feature(self[c])) for c in self._columns})
        return Features({c: _infer_feature(r[c] for r in self._rows) for c in self._columns})

    def __repr__(self):
        return f"Dataset({{\n    features: {self._columns!r},\n    num_rows: {len(self._rows)}\n}})"

    # -- access --------------------------------------------------------------------------------

    def __iter__(self):
        for r in self._rows:
            yield dict(r)

    def iter(self, batch_size, drop_last_batch=False):
        for i in range(0, len(self._rows), batch_size):
            part = self._rows[i : i + batch_size]
            if drop_last_batch and len(part) < batch_size:
                return
            yield {c: [r[c] for r in part] for c in self._columns}

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self._columns:
                raise KeyError(f"Column {key} not in the dataset. Current columns in the dataset: {self._columns}")
            return [r[key] for r in self._rows]
        if isinstance(key, bool):
            raise TypeError("a Dataset is indexed by int, slice, list of int or column name")
        if isinstance(key, int):
            n = len(self._rows)
            if key < -n or key >= n:
                raise IndexError(f"Index {key} out of range for dataset of size {n}.")
            return dict(self._rows[key])
        if isinstance(key, slice):
            part = self._rows[key]
        elif isinstance(key, (list, tuple, range)):
            part = [self._rows[i] for i in key]
        else:
            raise TypeError(f"cannot index a Dataset with {type(key).__name__}")
        return {c: [r[c] for r in part] for c in self._columns}

    def to_list(self):
        return [dict(r) for r in self._rows]

    def to_dict(self, batch_size=None, batched=False):
        return {c: [r[c] for r in self._rows] for c in self._columns}

    def to_pandas(self, batch_size=None, batched=False):
        import pandas  # only when the hook asks for it

        return pandas.DataFrame(self.to_list(), columns=self._columns)

    def unique(self, column):
        out = []
        for v in self[column]:
            if v not in out:
                out.append(v)
        return out

    # -- transforms ----------------------------------------------------------------------------

    def _derive(self, rows):
        d = Dataset(rows, split=self.split)
        if not rows:
            d._columns = list(self._columns)
        return d

    def map(
        self,
        function=None,
        with_indices=False,
        with_rank=False,
        input_columns=None,
        batched=False,
        batch_size=1000,
        drop_last_batch=False,
        remove_columns=None,
        fn_kwargs=None,
        **kwargs,
    ):
        if function is None:
            function = lambda x, *a, **k: x  # noqa: E731 - datasets' identity
        fn_kwargs = fn_kwargs or {}
        if isinstance(input_columns, str):
            input_columns = [input_columns]
        if isinstance(remove_columns, str):
            remove_columns = [remove_columns]
        remove = set(remove_columns or [])
        for c in remove:
            if c not in self._columns:
                raise ValueError(
                    f"Column to remove {[c]} not in the dataset. Current columns in the dataset: {self._columns}"
                )
        extra = [0] if with_rank else []
        out = []
        if not batched:
            for i, row in enumerate(self._rows):
                example = dict(row)
                args = [example[c] for c in input_columns] if input_columns else [example]
                if with_indices:
                    args.append(i)
                result = function(*args, *extra, **fn_kwargs)
                if result is None:  # only side effects: the row stays as it was
                    out.append({k: v for k, v in row.items() if k not in remove})
                    continue
                if not isinstance(result, dict):
                    raise TypeError(
                        f"Provided `function` which is applied to all elements of table returns a variable "
                        f"of type {type(result)}. Make sure provided `function` returns a variable of type "
                        "`dict` (or a pyarrow table) to update the dataset or `None` if you are only "
                        "interested in side effects."
                    )
                # as datasets: the (possibly modified) input, minus remove_columns, updated by the
                # output; an output that is the input itself loses the removed columns too
                base = row if input_columns else example
                new = {k: v for k, v in base.items() if k not in remove}
                if result is not example:
                    new.update(result)
                out.append(new)
            return self._derive(out)
        size = len(self._rows) if batch_size is None or batch_size <= 0 else batch_size
        for start in range(0, len(self._rows), size):
            part = self._rows[start : start + size]
            if drop_last_batch and len(part) < size:
                break
            batch = {c: [r[c] for r in part] for c in self._columns}
            args = [batch[c] for c in input_columns] if input_columns else [batch]
            if with_indices:
                args.append(list(range(start, start + len(part))))
            result = function(*args, *extra, **fn_kwargs)
            kept = {c: batch[c] for c in self._columns if c not in remove}
            if result is None:
                result = {}
            if not isinstance(result, dict):
                raise TypeError("a batched map function must return a dict of lists (or None)")
            lengths = {len(v) for v in result.values()}
            if len(lengths) > 1:
                raise ValueError(f"batched map returned columns of different lengths: {lengths}")
            n = lengths.pop() if lengths else len(part)
            if n != len(part) and any(c not in result for c in kept):
                raise ValueError(
                    f"Column lengths mismatch: the function returned {n} rows for a batch of {len(part)}; "
                    "remove the other columns with remove_columns (as datasets requires)"
                )
            merged = {**{c: v for c, v in kept.items() if n == len(part)}, **result}
            cols = list(merged)
            out.extend({c: merged[c][i] for c in cols} for i in range(n))
        return self._derive(out)

    def filter(
        self,
        function=None,
        with_indices=False,
        with_rank=False,
        input_columns=None,
        batched=False,
        batch_size=1000,
        fn_kwargs=None,
        **kwargs,
    ):
        if function is None:
            return self._derive(self.to_list())
        fn_kwargs = fn_kwargs or {}
        if isinstance(input_columns, str):
            input_columns = [input_columns]
        extra = [0] if with_rank else []
        keep = []
        if not batched:
            for i, row in enumerate(self._rows):
                example = dict(row)
                args = [example[c] for c in input_columns] if input_columns else [example]
                if with_indices:
                    args.append(i)
                if function(*args, *extra, **fn_kwargs):
                    keep.append(row)
            return self._derive(keep)
        size = len(self._rows) if batch_size is None or batch_size <= 0 else batch_size
        for start in range(0, len(self._rows), size):
            part = self._rows[start : start + size]
            batch = {c: [r[c] for r in part] for c in self._columns}
            args = [batch[c] for c in input_columns] if input_columns else [batch]
            if with_indices:
                args.append(list(range(start, start + len(part))))
            mask = function(*args, *extra, **fn_kwargs)
            keep.extend(r for r, m in zip(part, mask) if m)
        return self._derive(keep)

    def select(self, indices, **kwargs):
        return self._derive([self._rows[i] for i in indices])

    def take(self, n):
        return self._derive(self._rows[:n])

    def skip(self, n):
        return self._derive(self._rows[n:])

    def shuffle(self, seed=None, generator=None, **kwargs):
        try:
            import numpy as np

            rng = generator if generator is not None else np.random.default_rng(seed)
            order = rng.permutation(len(self._rows)).tolist()
        except ImportError:  # datasets itself needs numpy; this keeps the stand-in usable without
            order = list(range(len(self._rows)))
            random.Random(seed).shuffle(order)
        return self._derive([self._rows[i] for i in order])

    def sort(self, column_names, reverse=False, **kwargs):
        if isinstance(column_names, str):
            column_names = [column_names]
        if isinstance(reverse, bool):
            reverse = [reverse] * len(column_names)
        rows = list(self._rows)
        for col, rev in reversed(list(zip(column_names, reverse))):
            rows.sort(key=lambda r: (r[col] is None, r[col]), reverse=rev)
        return self._derive(rows)

    def rename_column(self, original_column_name, new_column_name, **kwargs):
        return self.rename_columns({original_column_name: new_column_name})

    def rename_columns(self, column_mapping, **kwargs):
        for c in column_mapping:
            if c not in self._columns:
                raise ValueError(f"Original column name {c} not in the dataset. Current columns in the dataset: {self._columns}")
        rows = [{column_mapping.get(k, k): v for k, v in r.items()} for r in self._rows]
        d = self._derive(rows)
        d._columns = [column_mapping.get(c, c) for c in self._columns]
        return d

    def remove_columns(self, column_names, **kwargs):
        if isinstance(column_names, str):
            column_names = [column_names]
        for c in column_names:
            if c not in self._columns:
                raise ValueError(f"Column name {c} not in the dataset. Current columns in the dataset: {self._columns}")
        drop = set(column_names)
        d = self._derive([{k: v for k, v in r.items() if k not in drop} for r in self._rows])
        d._columns = [c for c in self._columns if c not in drop]
        return d

    def select_columns(self, column_names, **kwargs):
        if isinstance(column_names, str):
            column_names = [column_names]
        d = self._derive([{c: r[c] for c in column_names} for r in self._rows])
        d._columns = list(column_names)
        return d

    def add_column(self, name, column, **kwargs):
        column = list(column)
        if len(column) != len(self._rows):
            raise ValueError(f"column {name} has {len(column)} values for {len(self._rows)} rows")
        return self._derive([{**r, name: v} for r, v in zip(self._rows, column)])

    def flatten(self, max_depth=16, **kwargs):
        def flat(row, prefix=""):
            out = {}
            for k, v in row.items():
                if isinstance(v, dict):
                    out.update(flat(v, f"{prefix}{k}."))
                else:
                    out[f"{prefix}{k}"] = v
            return out

        return self._derive([flat(r) for r in self._rows])

    def train_test_split(self, test_size=None, train_size=None, shuffle=True, seed=None, **kwargs):
        n = len(self._rows)
        if test_size is None:
            test_size = 0.25 if train_size is None else n - (train_size if isinstance(train_size, int) else round(train_size * n))
        n_test = test_size if isinstance(test_size, int) else int(-(-test_size * n // 1))
        ds = self.shuffle(seed=seed) if shuffle else self
        return DatasetDict(train=ds.select(range(n - n_test)), test=ds.select(range(n - n_test, n)))

    # -- accepted and ignored: formats and casts do not change Python values here ----------------

    def with_format(self, *args, **kwargs):
        return self

    def set_format(self, *args, **kwargs):
        return None

    def reset_format(self):
        return None

    def cast(self, features, **kwargs):
        d = self._derive(self.to_list())
        d._features = Features(features)
        return d

    def cast_column(self, column, feature, **kwargs):
        return self

    def flatten_indices(self, **kwargs):
        return self

    def __deepcopy__(self, memo):
        return self._derive(copy.deepcopy(self._rows, memo))


class DatasetDict(dict):
    """Split name to `Dataset`; the transforms apply to every split."""

    def _each(self, name, *args, **kwargs):
        return DatasetDict({k: getattr(v, name)(*args, **kwargs) for k, v in self.items()})

    def map(self, *args, **kwargs):
        return self._each("map", *args, **kwargs)

    def filter(self, *args, **kwargs):
        return self._each("filter", *args, **kwargs)

    def shuffle(self, *args, **kwargs):
        return self._each("shuffle", *args, **kwargs)

    def rename_column(self, *args, **kwargs):
        return self._each("rename_column", *args, **kwargs)

    def remove_columns(self, *args, **kwargs):
        return self._each("remove_columns", *args, **kwargs)

    @property
    def column_names(self):
        return {k: v.column_names for k, v in self.items()}

    @property
    def num_rows(self):
        return {k: v.num_rows for k, v in self.items()}


def concatenate_datasets(dsets, info=None, split=None, axis=0):
    dsets = list(dsets)
    if axis == 0:
        return Dataset([r for d in dsets for r in d.to_list()], split=split)
    n = {len(d) for d in dsets}
    if len(n) > 1:
        raise ValueError("datasets to concatenate along axis 1 must have the same number of rows")
    rows = [{} for _ in range(n.pop() if n else 0)]
    for d in dsets:
        for r, add in zip(rows, d.to_list()):
            r.update(add)
    return Dataset(rows, split=split)


def __getattr__(name):
    _missing(name)
