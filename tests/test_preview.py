"""`python -m randaugment preview` (issues 14 and 18).

- The command writes a PNG of the expected layout for every policy, whose tiles are
  the functional op's output for the same seed (computed here by calling the op), the
  top-left tile the original.
- The labels agree with what was applied: the plan the preview labels from, applied
  one kernel call at a time (`test_policies._reference`, itself checked against the
  engine), gives the tiles; each label names the plan's applied ops; the label's ink is
  in the picture.
- `--sweep` shows each op of the policy at magnitudes 0 to 1 with the policy's ranges
  (parameters restated here from torchvision's numbers).
- Without IMAGE it previews the packaged photograph and writes ./randaugment-preview.png.
- Bad input is one line on stderr and exit code 2.
One run goes through `python -m randaugment` in a subprocess; the rest call `main`.
"""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from test_policies import _reference

import randaugment
from randaugment import _font, preview
from randaugment._sample import sample_image
from randaugment.preview import PROG, main

ROOT = Path(__file__).resolve().parents[1]
SEED = 7
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _read_png(path) -> np.ndarray:
    data = Path(path).read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    return tf.io.decode_png(data, channels=3).numpy()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """The sample photograph halved to 128x128 (mean of each 2x2 block, ties to even),
    which the preview shows by default."""
    image = sample_image().astype(np.float64)
    return np.round(image.reshape(128, 2, 128, 2, 3).mean(axis=(1, 3))).astype(np.uint8)


# What each --policy means, written here from the docs: the functional op and arguments.
CALLS = {
    "rand": lambda x, s: randaugment.rand_augment(x, num_ops=2, magnitude=0.9, seed=s),
    "trivial": lambda x, s: randaugment.trivial_augment(x, seed=s),
    "augmix": lambda x, s: randaugment.aug_mix(x, severity=3, width=3, depth=-1, seed=s),
    "auto-imagenet": lambda x, s: randaugment.auto_augment(x, policy="imagenet", seed=s),
    "auto-cifar10": lambda x, s: randaugment.auto_augment(x, policy="cifar10", seed=s),
    "auto-svhn": lambda x, s: randaugment.auto_augment(x, policy="svhn", seed=s),
}


def _tile_lefts(columns: int) -> list[int]:
    # 128-pixel tiles, 6 pixels apart and from the edges.
    return [6 + c * 134 for c in range(columns)]


def _find_tiles(picture: np.ndarray, photo: np.ndarray, columns: int) -> int:
    """The top of the first row of tiles: the first place where the original
    photograph is, in the first column (an unaugmented copy may show it again)."""
    left = _tile_lefts(columns)[0]
    tops = [
        t
        for t in range(picture.shape[0] - 127)
        if np.array_equal(picture[t : t + 128, left : left + 128], photo)
    ]
    assert tops, "the original photograph is not in the first column"
    return tops[0]


@pytest.mark.parametrize("policy", sorted(CALLS))
def test_grid_tiles_are_the_functional_op_output(policy, photo, tmp_path, capsys):
    columns, rows = 3, 2
    out = tmp_path / "grid.png"
    assert main(["--policy", policy, "--grid", f"{columns}x{rows}", "--seed", str(SEED),
                 "-o", str(out)]) == 0  # fmt: skip
    assert capsys.readouterr().out.strip() == str(out.resolve())
    picture = _read_png(out)
    assert picture.shape[1] == 6 + columns * 134
    top = _find_tiles(picture, photo, columns)
    expected = np.asarray(CALLS[policy](np.repeat(photo[None], columns * rows - 1, 0), SEED))
    grid = preview.make_grid(photo, preview.policy_from_arguments(_args(policy)), 3, 2, SEED)
    tiles = [photo, *expected]
    assert len(grid.tiles) == len(tiles)
    for i, tile in enumerate(tiles):
        row, column = divmod(i, columns)
        t = grid.boxes[i][0]
        left = _tile_lefts(columns)[column]
        assert grid.boxes[i] == (t, left)
        np.testing.assert_array_equal(picture[t : t + 128, left : left + 128], tile, f"tile {i}")
        if row == 0:
            assert t == top
    # Rows are laid out below one another, and the copies differ from the original.
    assert grid.boxes[columns][0] > top + 128
    assert any(not np.array_equal(t, photo) for t in expected)


def _args(policy, *more):
    return preview.build_parser().parse_args(["--policy", policy, *more])


def _drawn_from_plan(policy, plan):
    """Per image, the names of the ops its plan applies (AugMix: per chain)."""
    names = policy.op_names()
    if policy.kind == "augmix":
        op, apply = plan.chains.op.numpy(), plan.chains.apply.numpy()
        return [
            [[names[o] for o, a in zip(op[b, w], apply[b, w], strict=True) if a]
             for w in range(op.shape[1])]
            for b in range(op.shape[0])
        ]  # fmt: skip
    op, apply = plan.op.numpy(), plan.apply.numpy()
    return [[names[o] for o, a in zip(op[b], apply[b], strict=True) if a] for b in range(len(op))]


def _reapplied(policy, plan, copies):
    """The plan applied one kernel call at a time (AugMix: chains mixed in NumPy)."""
    specs = policy.specs()
    interpolation = policy.kwargs.get("interpolation", "nearest")
    if policy.kind != "augmix":
        return _reference(copies, plan, specs, interpolation=interpolation)
    n, width = plan.chains.op.shape[:2]
    flat = tf.nest.map_structure(lambda t: tf.reshape(t, [n * width, *t.shape[2:]]), plan.chains)
    chains = _reference(np.repeat(copies, width, axis=0), flat, specs).astype(np.int64)
    chains = chains.reshape(n, width, *copies.shape[1:])
    q = plan.weights.numpy().astype(np.int64)  # units of 2**-14
    total = q[:, 0, None, None, None] * copies + np.einsum("bw,bwhxc->bhxc", q[:, 1:], chains)
    return np.clip((total + 2**13) // 2**14, 0, 255).astype(np.uint8)


LABEL_CASES = {
    "rand": ["--policy", "rand", "--num-ops", "3", "--magnitude", "0.6"],
    "rand-m0": ["--policy", "rand", "--magnitude", "0"],  # rand_augment returns its input
    "trivial": ["--policy", "trivial"],
    "auto-svhn": ["--policy", "auto-svhn"],
    "augmix": ["--policy", "augmix"],
    "timm-rand": ["--timm", "rand-m9-mstd0.5-inc1"],
    "timm-augmix": ["--timm", "augmix-m5-w2-d2"],
}


@pytest.mark.parametrize("case", sorted(LABEL_CASES))
def test_labels_name_the_ops_that_were_applied(case, make_photos):
    image = make_photos(1, 40, 56)[0]
    a = preview.build_parser().parse_args(LABEL_CASES[case])
    policy = preview.policy_from_arguments(a)
    grid = preview.make_grid(image, policy, 4, 3, SEED)
    copies = np.repeat(image[None], 11, axis=0)
    # The plan the labels come from, re-applied op by op, gives the tiles.
    np.testing.assert_array_equal(_reapplied(policy, grid.plan, copies), grid.tiles[1:])
    drawn = _drawn_from_plan(policy, grid.plan)
    assert grid.labels[0] == ["original"]
    texts = ["".join(line.strip() for line in lines) for lines in grid.labels[1:]]
    full = [_label_text(policy, grid.plan, i, d, lambda op: op) for i, d in enumerate(drawn)]
    short = [
        _label_text(policy, grid.plan, i, d, preview.SHORT_NAMES.__getitem__)
        for i, d in enumerate(drawn)
    ]
    assert texts in (full, short)
    # Each label's first line is inked under its tile, from the cell's left edge: tile 1
    # is in column 1 of cells 96 pixels wide (the image is narrower), 6 pixels apart.
    top = grid.boxes[1][0]
    mask = _font.text_mask(grid.labels[1][0])
    label = grid.picture[top + 42 : top + 42 + 9, 108 : 108 + mask.shape[1]]
    np.testing.assert_array_equal(label.min(axis=-1) == 0, mask)


def _label_text(policy, plan, i, drawn, name) -> str:
    """A tile's label, its lines joined, written from the plan."""
    if policy.kind != "augmix":
        return "+".join(map(name, drawn)) if drawn else "no op applied"
    weights = [round(100 * w / 2**14) for w in plan.weights.numpy()[i]]
    text = f"{weights[0]}% original"
    for weight, chain in zip(weights[1:], drawn, strict=True):
        text += f"{weight}% " + "+".join(map(name, chain))
    return text


def test_rate_and_probabilities_leave_some_images_unaugmented(make_photos):
    """Slots that do not apply are not labelled: timm's p=0.5 skips some slots."""
    image = make_photos(1, 24, 24)[0]
    policy = preview.policy_from_timm("rand-m9-n2-p0.5")
    grid = preview.make_grid(image, policy, 8, 4, SEED)
    counts = [len(d) for d in grid.drawn]
    assert {0, 1, 2} <= set(counts)
    for d, tile in zip(grid.drawn, grid.tiles[1:], strict=True):
        if not d:
            np.testing.assert_array_equal(tile, image)


def test_font_draws_every_character_the_labels_use():
    used = set("".join(spec.name for spec in randaugment.OPS))
    used |= set("".join(preview.SHORT_NAMES.values()))
    used |= set("0123456789%+-.=(),:_' []/#?") | set("abcdefghijklmnopqrstuvwxyz")
    assert used <= set(_font._GLYPHS), sorted(used - set(_font._GLYPHS))
    bitmaps = {}
    for char in _font._GLYPHS:
        rows = _font._GLYPHS[char].split()
        assert len(rows) <= 9 and all(len(r) == 5 and set(r) <= {".", "#"} for r in rows), char
        if char != " ":
            assert any("#" in r for r in rows), f"{char!r} has no ink"
        key = _font._glyph(char).tobytes()
        assert key not in bitmaps, f"{char!r} looks like {bitmaps.get(key)!r}"
        bitmaps[key] = char
    mask = _font.text_mask("Ab")
    assert mask.shape == (9, 12)
    np.testing.assert_array_equal(mask, _font.text_mask("ab"))


def test_sweep_shows_each_op_at_its_policy_ranges(tmp_path):
    out = tmp_path / "sweep.png"
    assert main(["--policy", "trivial", "--sweep", "--size", "64", "-o", str(out)]) == 0
    picture = _read_png(out)
    policy = preview.policy_from_arguments(_args("trivial", "--sweep"))
    # The sample photograph at 64x64: the mean of each 4x4 block.
    image = sample_image().astype(np.float64).reshape(64, 4, 64, 4, 3).mean(axis=(1, 3))
    image = np.round(image).astype(np.uint8)
    fresh, tiles, boxes = preview.make_sweep(image, policy)
    np.testing.assert_array_equal(picture, fresh)
    assert tiles.shape == (len(randaugment.TRIVIAL_AUGMENT_OPS), 5, 64, 64, 3)
    for r, row in enumerate(boxes):
        for c, (top, left) in enumerate(row):
            np.testing.assert_array_equal(picture[top : top + 64, left : left + 64], tiles[r, c])
    x = tf.constant(image[None], tf.float32)
    row = {name: i for i, name in enumerate(randaugment.TRIVIAL_AUGMENT_OPS)}
    # TrivialAugmentWide's ranges (torchvision 0.29): rotate 135 degrees, shear 0.99,
    # posterize down to 2 bits, translate 32 pixels whatever the size.
    checks = [
        ("rotate", 2, randaugment.ops.rotate(x, tf.constant([67.5]))),
        ("rotate", 4, randaugment.ops.rotate(x, tf.constant([135.0]))),
        ("shear_x", 1, randaugment.ops.shear_x(x, tf.constant([0.2475]))),
        ("posterize", 4, randaugment.ops.posterize(x, tf.constant([2.0]))),
        ("translate_y", 4, randaugment.ops.translate_y(x, tf.constant([32.0]))),
        ("identity", 3, x),
    ]
    for name, column, expected in checks:
        np.testing.assert_array_equal(tiles[row[name], column], expected.numpy()[0], name)
    specs = policy.specs()
    for r, spec in enumerate(specs):
        distinct = len({tiles[r, c].tobytes() for c in range(5)})
        assert distinct == 1 if not spec.has_parameter else distinct >= 2, spec.name


def test_sweep_of_a_timm_string_uses_timms_ranges(make_photos, tmp_path):
    image = make_photos(1, 32, 32)[0]
    policy = preview.policy_from_timm("rand-m9-inc0")
    names = list(policy.op_names())
    assert "solarize_add" in names and "identity" not in names
    spec = policy.specs()[names.index("posterize")]
    # timm's historical mapping: posterize keeps int(4 m) bits (0 at m = 0).
    x = tf.constant(image[None], tf.float32)
    expected = randaugment.ops.posterize(x, tf.constant([0.0])).numpy()[0]
    np.testing.assert_array_equal(preview.apply_op(spec, image, 0.0, "bilinear"), expected)
    assert preview._parameter_text(spec, 0.75, 32, 32) == "3 bits"


def test_default_image_and_output_path(photo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["--grid", "2x1"]) == 0
    path = tmp_path / "randaugment-preview.png"
    assert capsys.readouterr().out.strip() == str(path)
    picture = _read_png(path)
    _find_tiles(picture, photo, columns=2)


def test_python_dash_m_runs_in_a_fresh_process(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    result = subprocess.run(
        [sys.executable, "-m", "randaugment", "preview", "--grid", "2x2", "--size", "64"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [str(tmp_path / "randaugment-preview.png")]
    picture = _read_png(tmp_path / "randaugment-preview.png")
    assert picture.shape[1] == 6 + 2 * (96 + 6)  # 64-pixel tiles in 96-pixel cells


def test_unknown_command(capsys):
    from randaugment import __main__ as cli

    assert cli.main(["frobnicate"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "unknown command 'frobnicate'" in lines[0]


def _not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture\n")
    return str(path)


def _too_wide(tmp_path):
    """A 1 x 9000 image: wider than the nearest geometric warp's fixed point allows."""
    path = tmp_path / "wide.png"
    path.write_bytes(tf.io.encode_png(tf.zeros([1, 9000, 3], tf.uint8)).numpy())
    return [str(path), "--size", "0"]


ERRORS = {
    "missing file": (lambda d: [str(d / "missing.jpg")], ["IMAGE", "missing.jpg"]),
    "not an image": (lambda d: [_not_an_image(d)], ["IMAGE", "cannot decode", "notes.png"]),
    "a directory": (lambda d: [str(d)], ["IMAGE", "directory"]),
    "image too wide": (_too_wide, ["cannot augment IMAGE", "(1, 9000, 3)", "8192"]),
    "grid 0x3": (lambda d: ["--grid", "0x3"], ["--grid", "'0x3'"]),
    "grid text": (lambda d: ["--grid", "four"], ["--grid", "'four'"]),
    "unknown policy": (lambda d: ["--policy", "random"], ["--policy", "'random'"]),
    "magnitude 1.5": (lambda d: ["--magnitude", "1.5"], ["--magnitude", "'1.5'", "[0, 1]"]),
    "num-ops -1": (lambda d: ["--num-ops", "-1"], ["--num-ops", "'-1'"]),
    "num-ops for trivial": (lambda d: ["--policy", "trivial", "--num-ops", "3"], ["--num-ops", "rand only", "trivial"]),
    "timm and policy": (lambda d: ["--timm", "rand-m9", "--policy", "rand"], ["--timm", "--policy"]),
    "bad timm key": (lambda d: ["--timm", "rand-m9-x3"], ["--timm", "'x'", "rand-m9-x3"]),
    "timm magnitude": (lambda d: ["--timm", "rand-m15"], ["--timm", "m15"]),
    "sweep and grid": (lambda d: ["--sweep", "--grid", "2x2"], ["--grid", "--sweep"]),
    "unknown flag": (lambda d: ["--colour"], ["--colour"]),
    "output not png": (lambda d: ["-o", str(d / "out.jpg")], ["--output", "out.jpg"]),
    "output folder": (lambda d: ["-o", str(d / "no" / "out.png")], ["--output", "does not exist"]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_are_one_line_and_exit_code_2(case, tmp_path, capsys):
    make_argv, needles = ERRORS[case]
    argv = make_argv(tmp_path)
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "out.png")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"{PROG}: error: ")
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert not (tmp_path / "out.png").exists()


def test_help_and_docstring_examples(capsys):
    from randaugment import __main__ as cli

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--policy", "--num-ops", "--magnitude", "--timm", "--grid", "--seed", "--sweep"):
        assert flag in out
    assert cli.main([]) == 2
    assert "preview" in capsys.readouterr().err
    for function in (preview.main, cli.main):
        tests = doctest.DocTestFinder().find(function)
        assert tests and tests[0].examples, f"{function.__module__}.main has no example"
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        for test in tests:
            runner.run(test)
        assert runner.failures == 0
