"""The committed test vectors are exactly what their generators compute from the reference
implementations: tests/unit/fixtures/{stats,metric,filter}_vectors.json are regenerated here and compared
value for value (floats bit for bit) with the committed files.

A section whose reference is not installed is skipped, saying what is missing and how to get it:
SciPy, NLTK and scikit-learn are Debian packages (scripts/setup.sh installs them); the SQuAD,
rouge, CodeXGLUE BLEU and lm-evaluation-harness sources are third-party files outside the
repository (TUNEBOOK_REFERENCE_SOURCES, default .cache/reference-sources; the generator's
`--fetch-commands` prints how to download them at their pinned commits).
"""
import importlib.util
import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures"


def _generator(name):
    spec = importlib.util.spec_from_file_location(name, FIXTURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _committed(name):
    return json.loads((FIXTURES / name).read_text())


def test_stats_vectors_are_what_scipy_gives():
    pytest.importorskip("scipy", reason="python3-scipy is not installed (apt-get install "
                        "python3-scipy); it computes tests/unit/fixtures/stats_vectors.json")
    fresh = _generator("make_stats_vectors").build()
    committed = _committed("stats_vectors.json")
    assert list(fresh) == list(committed)
    versions = {k: (fresh["generator"][k], committed["generator"][k])
                for k in ("scipy", "numpy", "python")}
    for section in fresh:
        assert fresh[section] == committed[section], (
            f"stats_vectors.json section {section!r} differs from what make_stats_vectors.py "
            f"computes here (versions here vs committed: {versions}); regenerate it with "
            f"{committed['generator']['command']}")


METRICS = _generator("make_metric_vectors")


@pytest.mark.parametrize("section", METRICS.SECTIONS)
def test_metric_vectors_are_what_the_reference_gives(section):
    lacking = METRICS.missing(section)
    if lacking:
        pytest.skip(f"{section}'s reference is not installed: " + "; ".join(lacking))
    fresh = METRICS.build_section(section)
    committed = _committed("metric_vectors.json")
    # Every section of the file is one the generator makes, so each is checked by a case here.
    assert list(committed) == ["generator", *METRICS.SECTIONS]
    assert fresh == committed[section], (
        f"metric_vectors.json section {section!r} differs from what its reference computes "
        f"here; regenerate it with {committed['generator']['command']}")


def test_filter_vectors_are_what_python_re_gives():
    fresh = _generator("make_filter_vectors").build()
    committed = _committed("filter_vectors.json")
    assert list(fresh) == list(committed)
    for section in fresh:
        if section == "generator":
            continue
        assert fresh[section] == committed[section], (
            f"filter_vectors.json section {section!r} differs from what make_filter_vectors.py "
            f"computes here; regenerate it with {committed['generator']['command']}")
