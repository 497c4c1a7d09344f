"""`docs/policies.md` and its pictures are what `docs/gen_policies_page.py` makes today
(from `randaugment.RANGES`, the policies and `from_timm`), and the page is reachable.

The page's code blocks run with every other page's (`tests/test_docs.py`).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import randaugment

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "gen_policies_page", DOCS / "gen_policies_page.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_policies_page", module)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def test_policies_page_matches_the_tables():
    expected = gen.render_page()
    committed = (DOCS / "policies.md").read_text(encoding="utf-8")
    if committed != expected:
        diff = [
            f"  committed: {a!r}\n  generated: {b!r}"
            for a, b in zip(committed.splitlines(), expected.splitlines(), strict=False)
            if a != b
        ]
        pytest.fail(
            "docs/policies.md disagrees with the code; run `python docs/gen_policies_page.py` "
            "and commit the result. First differing lines:\n"
            + ("\n".join(diff[:5]) or "(the line counts differ)")
        )


def test_page_states_the_tables_numbers():
    """A few cells restated from torchvision 0.29 and timm: the generator reads the
    tables, and the tables hold these numbers."""
    page = (DOCS / "policies.md").read_text(encoding="utf-8")
    assert "| `rotate` | 0 -> +-135 | degrees |" in page  # TrivialAugmentWide
    assert "| `posterize` | 4 -> 0, rounded | bits kept |" in page  # AugMix
    for policy in randaugment.AUTO_AUGMENT_POLICIES:
        assert f"### The `{policy}` policy" in page
    assert page.count("| 24 | ") == 3  # 25 sub-policies (0 to 24) per AutoAugment policy
    for name in randaugment.RANGES:
        assert f"| `{name}` |" in page or f"`{name}`" in page


def _png(path: Path) -> np.ndarray:
    return tf.io.decode_png(path.read_bytes(), channels=3).numpy()


def test_pictures_are_current_and_shown(tmp_path):
    fresh = gen.write_pictures(tmp_path)
    page = (DOCS / "policies.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in fresh] == list(gen.PICTURES)
    for name, path in zip(gen.PICTURES, fresh, strict=True):
        committed = DOCS / name
        assert committed.is_file(), f"docs/{name} is missing: run docs/gen_policies_page.py"
        np.testing.assert_array_equal(
            _png(committed),
            _png(path),
            err_msg=f"docs/{name} is stale: run python docs/gen_policies_page.py",
        )
        if name.startswith("images/policies/"):
            assert f"]({name})" in page, f"docs/policies.md does not show {name}"
            assert gen.command(name) in page
    # The README's picture is what its "see it work" command writes.
    assert "](docs/images/preview.png)" in readme
    assert gen.PICTURES["images/preview.png"] == []


def test_page_is_linked_from_the_nav_the_index_and_the_readme():
    assert "- Policies: policies.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "](policies.md)" in (DOCS / "index.md").read_text(encoding="utf-8")
    assert "](docs/policies.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
