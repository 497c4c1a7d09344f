"""The op table is complete: every op has a kernel, a Pillow/NumPy reference test
and a row in docs/ops.md (a page generated from the table)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import test_ops_pillow

import randaugment
from randaugment import ops

NAMES = [spec.name for spec in randaugment.OPS]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "ops.md"


def test_names_are_unique_and_listed():
    assert len(NAMES) == len(set(NAMES)), f"duplicate op names in OPS: {NAMES}"
    available = tuple(randaugment.available_ops())
    assert len(available) == len(set(available)), f"duplicates in available_ops(): {available}"
    assert set(available) == set(NAMES), (
        f"available_ops() {sorted(available)} differs from the table {sorted(NAMES)}"
    )


def test_paper_ops_are_all_there():
    paper = {
        "identity",
        "auto_contrast",
        "equalize",
        "rotate",
        "solarize",
        "color",
        "posterize",
        "contrast",
        "brightness",
        "sharpness",
        "shear_x",
        "shear_y",
        "translate_x",
        "translate_y",
    }
    extras = {"invert", "solarize_add", "cutout"}
    assert paper | extras <= set(NAMES), f"missing: {sorted(paper | extras - set(NAMES))}"


@pytest.mark.parametrize("spec", randaugment.OPS, ids=lambda s: s.name)
def test_kernel_is_the_public_op(spec):
    assert spec.kernel is getattr(ops, spec.name), (
        f"OPS[{spec.name!r}].kernel is not randaugment.ops.{spec.name}"
    )


def _covered_by_reference_tests() -> set[str]:
    """Ops that test_ops_pillow actually compares with a reference."""
    covered = set(test_ops_pillow.PARAMETRIZED_OPS)
    for name in test_ops_pillow.PIL_REFERENCES:
        # Ops with a dedicated comparison, e.g. test_cutout_matches_definition.
        if any(attr.startswith(f"test_{name}_") for attr in dir(test_ops_pillow)):
            covered.add(name)
    return covered


@pytest.mark.parametrize("name", NAMES)
def test_every_op_has_a_reference_test(name):
    assert name in test_ops_pillow.PIL_REFERENCES, (
        f"{name!r} is in randaugment.OPS but has no entry in test_ops_pillow.PIL_REFERENCES"
    )
    assert name in _covered_by_reference_tests(), (
        f"{name!r} has a reference but no test in test_ops_pillow compares with it"
    )


def test_no_stale_references():
    stale = set(test_ops_pillow.PIL_REFERENCES) - set(NAMES)
    assert not stale, f"references for ops that are not in the table: {sorted(stale)}"


def _docs_text() -> str:
    assert DOCS.is_file(), f"{DOCS} does not exist (it is generated from randaugment.OPS)"
    return DOCS.read_text(encoding="utf-8")


@pytest.mark.parametrize("spec", randaugment.OPS, ids=lambda s: s.name)
def test_every_op_is_in_the_docs_with_its_range(spec):
    text = _docs_text()
    lines = [
        line
        for line in text.splitlines()
        if re.search(rf"(?<![\w.]){re.escape(spec.name)}(?![\w])", line)
    ]
    assert lines, f"{spec.name!r} does not appear in docs/ops.md"
    if spec.has_parameter:
        # The op's row shows its parameter at magnitudes 0 and 1.
        numbers = {f"{spec.low:g}", f"{abs(spec.high):g}", f"{abs(spec.high - spec.low):g}"}
        assert any(
            f"{spec.low:g}" in line and any(n in line for n in numbers - {f"{spec.low:g}"})
            for line in lines
        ), (
            f"docs/ops.md mentions {spec.name!r} but no line shows its range "
            f"({spec.low:g} at magnitude 0, {spec.high:g} at magnitude 1): {lines}"
        )
