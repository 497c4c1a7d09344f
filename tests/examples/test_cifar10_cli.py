"""End to end: the CLI on small files in the real formats, and what it writes."""

from __future__ import annotations

import json
import re

import keras
import numpy as np
import pytest
from conftest import C_BLOCK, TEST_SIZE

from examples.cifar10 import cifar10c, cli, evaluation, pipelines, reporting

CORRUPTIONS = "gaussian_noise,brightness,contrast,saturate"  # contrast: generated
OUTPUTS = (
    "results.json",
    "results.md",
    "accuracy_per_corruption.png",
    "samples_simple.png",
    "samples_randaugment.png",
    "histories.json",
    "history.png",
    "initial.weights.h5",
    "model_simple.keras",
    "model_randaugment.keras",
)


def argv(cifar_files, out, *extra):
    return [
        "--data-dir",
        str(cifar_files["data_dir"]),
        "--cifar10c-dir",
        str(cifar_files["cifar10c_dir"]),
        "--corruptions",
        CORRUPTIONS,
        "--model",
        "tiny",
        "--epochs",
        "2",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "32",
        "--eval-batch-size",
        "64",
        "--verbose",
        "0",
        "--output-dir",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def run(cifar_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert cli.main(argv(cifar_files, out)) == 0
    return out, json.loads((out / "results.json").read_text())


def test_every_output_file(run):
    out, _ = run
    for name in OUTPUTS:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for name in OUTPUTS:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_content(run):
    _, results = run
    assert set(results["models"]) == {"simple", "randaugment"}
    c10c = results["cifar10c"]
    assert list(c10c["sources"]) == ["gaussian_noise", "brightness", "contrast", "saturate"]
    assert c10c["sources"]["saturate"].startswith("folder ")
    assert c10c["sources"]["contrast"].startswith("generated")
    assert c10c["images"] == {
        "gaussian_noise": C_BLOCK,
        "brightness": C_BLOCK,
        "contrast": TEST_SIZE,
        "saturate": C_BLOCK,
    }
    for name in ("simple", "randaugment"):
        model = results["models"][name]
        assert set(model["corruptions"]) == set(c10c["sources"])
        assert all(list(v) == ["1", "2", "3", "4", "5"] for v in model["corruptions"].values())
        history = results["histories"][name]
        assert len(history["accuracy"]) == len(history["val_accuracy"]) == 2
    assert results["config"]["steps_per_epoch"] == 2
    assert results["timing_seconds"]["total"] > 0


def test_summaries_follow_from_the_blocks(run):
    _, results = run
    for model in results["models"].values():
        blocks = model["corruptions"]
        summary = model["summary"]
        everything = [a for sev in blocks.values() for a in sev.values()]
        assert summary["all_mean"] == pytest.approx(np.mean(everything))
        assert summary["all_count"] == 4
        assert summary["benchmark_mean"] is None  # 3 of the 15 only
        assert summary["benchmark_count"] == 3
        bench = [
            a for n in ("gaussian_noise", "brightness", "contrast") for a in blocks[n].values()
        ]
        assert summary["benchmark_available_mean"] == pytest.approx(np.mean(bench))
        assert summary["saturate_5"] == blocks["saturate"]["5"]
        for s in "12345":
            assert summary["per_severity"][s] == pytest.approx(
                np.mean([b[s] for b in blocks.values()])
            )
        for n, sev in blocks.items():
            assert summary["per_corruption"][n] == pytest.approx(np.mean(list(sev.values())))


def _md_rows(text: str) -> dict[str, tuple[float, float, float]]:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"[+-]?\d+\.\d\d", cells[3]):
            rows[cells[0]] = tuple(float(c) for c in cells[1:])
    return rows


def test_json_agrees_with_markdown(run):
    out, results = run
    rows = _md_rows((out / "results.md").read_text())
    s, r = (results["models"][k] for k in ("simple", "randaugment"))
    expected = {
        "clean test accuracy": (s["summary"]["clean"], r["summary"]["clean"]),
        "CIFAR-10-C mean, 3 of the 15 benchmark corruptions": (
            s["summary"]["benchmark_available_mean"],
            r["summary"]["benchmark_available_mean"],
        ),
        "CIFAR-10-C mean, all 4 available corruptions": (
            s["summary"]["all_mean"],
            r["summary"]["all_mean"],
        ),
        "saturate_5 (the keras.io number) *": (
            s["summary"]["saturate_5"],
            r["summary"]["saturate_5"],
        ),
    }
    for sev in "12345":
        expected[f"severity {sev}"] = (
            s["summary"]["per_severity"][sev],
            r["summary"]["per_severity"][sev],
        )
    for name in s["corruptions"]:
        label = f"{name} *" if name in cifar10c.OVERLAPS_RANDAUGMENT else name
        expected[label] = (
            s["summary"]["per_corruption"][name],
            r["summary"]["per_corruption"][name],
        )
        for sev in "12345":
            expected[f"{name}_{sev}"] = (s["corruptions"][name][sev], r["corruptions"][name][sev])
    assert set(expected) == set(rows)
    for label, (a, b) in expected.items():
        md_a, md_b, md_d = rows[label]
        assert md_a == pytest.approx(100 * a, abs=0.005), label
        assert md_b == pytest.approx(100 * b, abs=0.005), label
        assert md_d == pytest.approx(100 * (b - a), abs=0.0051), label
    text = (out / "results.md").read_text()
    assert "Where RandAugment does not beat the simple pipeline" in text
    for label in reporting.losses(results):
        assert f"`{label}`" in text


def test_numbers_agree_with_model_evaluate(run, cifar_files):
    """Reload each saved model and evaluate it with plain Keras on the same data."""
    out, results = run
    x_test, y_test = cifar_files["x_test"], cifar_files["y_test"]
    folder = cifar10c.FolderSource(cifar_files["cifar10c_dir"])
    generated = cifar10c.GeneratedSource(x_test, y_test, seed=0)
    for name in ("simple", "randaugment"):
        model = keras.saving.load_model(out / f"model_{name}.keras")
        saved = results["models"][name]
        _, clean = model.evaluate(x_test.astype("float32"), y_test, batch_size=64, verbose=0)
        assert saved["summary"]["clean"] == pytest.approx(clean, abs=1e-6)
        for corruption, source in (("saturate", folder), ("contrast", generated)):
            for severity in (1, 5):
                block = source.load(corruption, severity)
                _, acc = model.evaluate(
                    block.images.astype("float32"), block.labels, batch_size=64, verbose=0
                )
                assert saved["corruptions"][corruption][str(severity)] == pytest.approx(
                    acc, abs=1e-6
                ), (name, corruption, severity)


def test_help_documents_every_flag(capsys):
    parser = cli.parser()
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for action in parser._actions:
        assert action.help, action.option_strings
        for option in action.option_strings:
            assert option in text
    for flag in (
        "--preset",
        "--epochs",
        "--image-size",
        "--model",
        "--train-subset",
        "--seed",
        "--output-dir",
        "--data-dir",
        "--cifar10c-dir",
    ):
        assert flag in text


def test_presets():
    args = cli.resolve(cli.parser().parse_args(["--preset", "keras-io"]))
    assert (args.model, args.image_size, args.epochs, args.batch_size) == ("resnet50v2", 72, 1, 128)
    assert (args.num_ops, args.magnitude) == (3, 0.8)
    args = cli.resolve(cli.parser().parse_args(["--preset", "keras-io", "--epochs", "3"]))
    assert args.epochs == 3 and args.model == "resnet50v2"
    args = cli.resolve(cli.parser().parse_args([]))
    assert args.preset == "cpu" and args.image_size == 32


def test_keras_io_model_is_resnet50v2_behind_rescaling():
    from examples.cifar10.models import build_model

    model = build_model("resnet50v2", 72)
    assert model.input_shape == (None, 72, 72, 3) and model.output_shape == (None, 10)
    rescale = model.get_layer("rescale")
    assert rescale.scale == pytest.approx(1 / 127.5) and rescale.offset == -1.0
    assert any(layer.name == "resnet50v2" for layer in model.layers)


@pytest.mark.parametrize(
    "bad", [["--severities", "0,6"], ["--magnitude", "1.5"], ["--epochs", "0"]]
)
def test_bad_values_are_refused(bad):
    with pytest.raises(SystemExit):
        cli.resolve(cli.parser().parse_args(bad))


def test_summarize_marks_an_incomplete_benchmark():
    full = {n: {s: 0.5 for s in range(1, 6)} for n in cifar10c.ALL_CORRUPTIONS}
    summary = evaluation.summarize(0.9, full)
    assert summary["benchmark_mean"] == pytest.approx(0.5) and summary["all_count"] == 19
    del full["frost"]
    summary = evaluation.summarize(0.9, full)
    assert summary["benchmark_mean"] is None and summary["benchmark_count"] == 14
    assert summary["all_count"] == 18 and summary["saturate_5"] == 0.5


@pytest.mark.slow
def test_same_seed_same_results(run, cifar_files, tmp_path):
    """--seed fixes initial weights, order and augmentation: a second run is identical."""
    _, first = run
    assert cli.main(argv(cifar_files, tmp_path)) == 0
    second = json.loads((tmp_path / "results.json").read_text())
    assert second["models"] == first["models"]
    assert second["histories"] == first["histories"]


def test_pipelines_repeat_with_a_seed_and_share_the_order(cifar_files):
    x, y = cifar_files["x_train"][:96], cifar_files["y_train"][:96]
    kw = dict(batch_size=32, image_size=32, epochs=2)

    def batches(ds):
        return [(a.numpy(), b.numpy()) for a, b in ds]

    labels = {}
    for pipeline in pipelines.PIPELINES:
        ds = pipelines.train_dataset(pipeline, x, y, seed=3, **kw)
        a = batches(ds)
        # RandAugment's seeds are stateless: a second iterator is a second run (and
        # saves a trace). The simple pipeline's Keras layers hold state: rebuild it.
        if pipeline == "simple":
            ds = pipelines.train_dataset(pipeline, x, y, seed=3, **kw)
        b = batches(ds)
        c = batches(pipelines.train_dataset(pipeline, x, y, seed=4, **kw))
        assert len(a) == 6 and a[0][0].dtype == np.float32 and a[0][0].shape == (32, 32, 32, 3)
        assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b, strict=True)), pipeline
        assert not np.array_equal(a[0][0], c[0][0]), pipeline
        assert a[0][0].min() >= 0 and a[0][0].max() <= 255
        # The second epoch is reshuffled.
        assert not np.array_equal(a[0][1], a[3][1])
        assert sorted(np.concatenate([p[1] for p in a[:3]])) == sorted(y)
        labels[pipeline] = [p[1] for p in a]
    # Both pipelines read the same order.
    for p, q in zip(labels["simple"], labels["randaugment"], strict=True):
        np.testing.assert_array_equal(p, q)
    big = pipelines.train_dataset("simple", x, y, seed=3, batch_size=32, image_size=40)
    assert next(iter(big))[0].shape == (32, 40, 40, 3)
