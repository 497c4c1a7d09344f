"""The documentation is true: generated pages match the code, and every example runs.

- `docs/ops.md` is exactly what `docs/gen_ops_page.py` makes from `randaugment.OPS`
  today, and the gallery and sample pictures are what the kernels produce.
- Every fenced ```python block in README.md and docs/*.md runs, in a fresh namespace,
  in file order. A block preceded by a `<!-- skip-test -->` line is skipped (kept for
  the few that download data or run for minutes); one preceded by
  `<!-- run-with: KERAS_BACKEND=jax -->` runs in a subprocess with that variable set
  (skipped where that backend is not installed).
- The docstring examples of the public entry points pass under `doctest`.
- README's install and test commands are the ones `.ci/run` runs, and relative links
  point at files that exist.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import randaugment

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
SKIP_MARKER = "<!-- skip-test -->"
RUN_WITH = re.compile(r"^<!-- run-with: KERAS_BACKEND=(\w+) -->$")


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_ops_page", DOCS / "gen_ops_page.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_ops_page", module)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()

# -- (a) the generated ops page and pictures --------------------------------------------


def test_ops_page_matches_the_table():
    expected = gen.render_page()
    committed = (DOCS / "ops.md").read_text(encoding="utf-8")
    if committed != expected:
        diff = [
            f"  committed: {a!r}\n  generated: {b!r}"
            for a, b in zip(committed.splitlines(), expected.splitlines(), strict=False)
            if a != b
        ]
        details = "\n".join(diff[:5]) or "(the line counts differ)"
        pytest.fail(
            "docs/ops.md disagrees with randaugment.OPS; run `python docs/gen_ops_page.py` "
            "and commit the result. First differing lines:\n" + details
        )


def test_page_references_are_the_tested_ones():
    """The reference column says what tests/test_ops_pillow.py really compares with."""
    import test_ops_pillow

    tested = {name: ref.source for name, ref in test_ops_pillow.PIL_REFERENCES.items()}
    documented = {spec.name: gen.REFERENCES[spec.name] for spec in randaugment.OPS}
    assert documented == tested


def _tiles(strip: np.ndarray) -> np.ndarray:
    """The picture part of a gallery strip (below the text), `[M, TILE, TILE, 3]`."""
    return np.stack(
        [
            strip[gen.LABEL : gen.LABEL + gen.TILE, x : x + gen.TILE]
            for x in (gen.PAD + i * (gen.TILE + gen.PAD) for i in range(len(gen.MAGNITUDES)))
        ]
    )


def test_gallery_has_one_row_per_op_and_matches_the_committed_pictures(tmp_path):
    paths = gen.write_gallery(tmp_path)
    names = [spec.name for spec in randaugment.OPS]
    assert [p.stem for p in paths] == names
    assert sorted(p.name for p in (tmp_path / "ops").iterdir()) == sorted(f"{n}.png" for n in names)
    page = (DOCS / "ops.md").read_text(encoding="utf-8")
    width = gen.PAD + len(gen.MAGNITUDES) * (gen.TILE + gen.PAD)
    for name, path in zip(names, paths, strict=True):
        fresh = np.asarray(Image.open(path).convert("RGB"))
        # One row: five tiles side by side under one line of labels.
        assert fresh.shape == (gen.LABEL + gen.TILE + gen.PAD, width, 3), name
        assert f"](images/ops/{name}.png)" in page, f"docs/ops.md does not show {name}.png"
        committed_path = DOCS / "images" / "ops" / f"{name}.png"
        assert committed_path.is_file(), f"{committed_path} is missing: run docs/gen_ops_page.py"
        committed = np.asarray(Image.open(committed_path).convert("RGB"))
        assert committed.shape == fresh.shape, name
        # Pixels of the op's results (the text above them depends on the font).
        np.testing.assert_array_equal(
            _tiles(committed),
            _tiles(fresh),
            err_msg=f"docs/images/ops/{name}.png is stale: run python docs/gen_ops_page.py",
        )
    # Magnitude 0 of every op with a parameter is the identity in the gallery too.
    original = gen.photo()
    for spec in randaugment.OPS:
        if spec.has_parameter:
            np.testing.assert_array_equal(gen.apply_op(spec, original, (0.0,))[0], original)


def test_samples_picture_is_current(tmp_path):
    fresh = np.asarray(Image.open(gen.write_samples(tmp_path)).convert("RGB"))
    committed = np.asarray(Image.open(DOCS / "images" / "samples.png").convert("RGB"))
    np.testing.assert_array_equal(
        committed,
        fresh,
        err_msg="docs/images/samples.png is stale: run python docs/gen_ops_page.py",
    )


def test_boxes_and_masks_picture_is_current():
    """docs/images/boxes_and_masks.png holds what `rand_augment` does today (the tiles;
    the text above them depends on the font)."""
    spec = importlib.util.spec_from_file_location("gen_boxes", DOCS / "gen_boxes_picture.py")
    boxes_gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(boxes_gen)
    fresh = np.asarray(boxes_gen.picture())
    committed = np.asarray(Image.open(boxes_gen.OUT).convert("RGB"))
    assert committed.shape == fresh.shape
    per_row = (boxes_gen.COPIES + 1) // 2
    size, pad, label = boxes_gen.SIZE, boxes_gen.PAD, boxes_gen.LABEL
    for k in range(boxes_gen.COPIES + 1):
        row, col = divmod(k, per_row)
        x = pad + col * (size + pad)
        y = pad + row * (size + label + pad) + label
        np.testing.assert_array_equal(
            committed[y : y + size, x : x + size],
            fresh[y : y + size, x : x + size],
            err_msg=f"tile {k} of docs/images/boxes_and_masks.png is stale: run "
            "python docs/gen_boxes_picture.py",
        )


# -- (b) every code block runs ----------------------------------------------------------


def _documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")


def code_blocks(path: Path) -> list[tuple[int, str, bool | str]]:
    """`(line, source, skipped)` of every ```python block of a Markdown file;
    `skipped` is True, False, or the Keras backend to run the block under."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, language = match.groups()
        start = i
        i += 1
        body = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :])
            i += 1
        i += 1
        if language not in ("python", "py"):
            continue
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = lines[before].strip() if before >= 0 else ""
        skipped = marker == SKIP_MARKER
        if RUN_WITH.match(marker):
            skipped = RUN_WITH.match(marker).group(1)
        blocks.append((start + 1, "\n".join(body) + "\n", skipped))
    return blocks


BLOCKS = [
    pytest.param(path, line, source, skipped, id=f"{path.relative_to(ROOT)}:{line}")
    for path in _documents()
    if path.is_file()
    for line, source, skipped in code_blocks(path)
]


def test_documents_exist_and_have_examples():
    assert README.is_file()
    for name in ("index.md", "usage.md", "design.md", "api.md", "ops.md"):
        assert (DOCS / name).is_file(), f"docs/{name} is missing"
    assert len(BLOCKS) >= 8, "README.md and docs/ should show runnable examples"
    skipped = [p.id for p in BLOCKS if p.values[3] is True]
    assert len(skipped) <= max(3, len(BLOCKS) // 5), (
        f"too many examples skipped ({skipped}); skip only those that need downloads or long runs"
    )


@pytest.fixture
def clean_keras():
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("path, line, source, skipped", BLOCKS)
def test_code_block_runs(path, line, source, skipped, tmp_path, monkeypatch, clean_keras):
    if skipped is True:
        pytest.skip(f"marked {SKIP_MARKER}")
    monkeypatch.chdir(tmp_path)  # blocks may write files
    if isinstance(skipped, str):  # a Keras backend: a process of its own
        if importlib.util.find_spec(skipped) is None:
            pytest.skip(f"the {skipped} backend is not installed")
        script = tmp_path / "block.py"
        script.write_text(source, encoding="utf-8")
        env = {**os.environ, "KERAS_BACKEND": skipped, "TF_CPP_MIN_LOG_LEVEL": "3"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        result = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return
    namespace = {"__name__": "__docs__"}
    code = compile(source, f"{path.relative_to(ROOT)}:{line}", "exec")
    exec(code, namespace)


# -- (c) docstring examples -------------------------------------------------------------

DOCTESTED = {
    "randaugment.rand_augment": randaugment.rand_augment,
    "randaugment.RandAugment": randaugment.RandAugment,
    "randaugment.available_ops": randaugment.available_ops,
    "randaugment.ops": randaugment.ops,
}


@pytest.mark.parametrize("name", list(DOCTESTED))
def test_docstring_examples(name):
    tests = [t for t in doctest.DocTestFinder().find(DOCTESTED[name], name) if t.examples]
    assert tests, f"{name} has no docstring example"
    failures = []
    for test in tests:
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS, verbose=False)
        runner.run(test, out=failures.append)
        test.globs.clear()
    assert not failures, "".join(failures)


# -- README facts -------------------------------------------------------------------------


def test_readme_commands_are_the_ci_commands():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    for command in ('pip install -e ".[test]"', "python -m pytest"):
        assert command in ci, f".ci/run no longer runs {command!r}: update this test"
        assert command in readme, f"README.md must show {command!r}"


_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_exist(path):
    text = path.read_text(encoding="utf-8")
    broken = []
    for target in _LINK.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        file = target.split("#")[0]
        if file and not (path.parent / file).exists():
            broken.append(target)
    assert not broken, f"{path.name} links to missing files: {broken}"


def test_mkdocs_build_is_strict_clean(tmp_path):
    """`mkdocs build --strict` passes (where the `docs` extra is installed)."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
