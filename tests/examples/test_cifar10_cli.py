"""End to end: the CLI on small files in the real formats, and what it writes."""

from __future__ import annotations

import json
import re

import keras
import numpy as np
import pytest
from conftest import C_BLOCK, TEST_SIZE

from examples.cifar10 import cifar10c, cli, evaluation, reporting, runs, training

CORRUPTIONS = "gaussian_noise,brightness,contrast,saturate"  # contrast: generated
TOP_OUTPUTS = (
    "results.json",
    "results.md",
    "run.json",
    "accuracy_per_corruption.png",
    "difference_per_corruption.png",
    "history.png",
    "samples_base.png",
    "samples_randaugment.png",
)
ARM_OUTPUTS = ("result.json", "model.keras", "samples.png")


def argv(cifar_files, out, *extra, corruptions=CORRUPTIONS):
    return [
        "--preset",
        "paper",
        "--data-dir",
        str(cifar_files["data_dir"]),
        "--cifar10c-dir",
        str(cifar_files["cifar10c_dir"]),
        "--corruptions",
        corruptions,
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
        "--output-dir",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def run(cifar_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert cli.main(argv(cifar_files, out, "--arms", "base,randaugment", "--seeds", "0")) == 0
    return out, json.loads((out / "results.json").read_text())


def test_every_output_file(run):
    out, _ = run
    for name in TOP_OUTPUTS:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "seed_0" / "initial.weights.h5").is_file()
    for arm in ("base", "randaugment"):
        for name in ARM_OUTPUTS:
            assert (out / "seed_0" / arm / name).is_file(), (arm, name)
    for path in out.rglob("*.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_content(run):
    _, results = run
    assert results["config"]["arms"] == ["base", "randaugment"]
    assert results["config"]["reference"] == "base"
    assert results["config"]["seeds"] == [0]
    assert set(results["per_seed"]["0"]) == {"base", "randaugment"}
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
    for arm in ("base", "randaugment"):
        model = results["per_seed"]["0"][arm]
        assert set(model["corruptions"]) == set(c10c["sources"])
        assert all(list(v) == ["1", "2", "3", "4", "5"] for v in model["corruptions"].values())
        history = results["histories"]["0"][arm]
        assert len(history["accuracy"]) == len(history["val_accuracy"]) == 2
    recipe = results["config"]["recipe"]
    assert recipe["steps_per_epoch"] == 2 and recipe["optimizer"] == "sgd"
    assert results["timing_seconds"]["train_total"] > 0


def test_summaries_follow_from_the_blocks(run):
    _, results = run
    for model in results["per_seed"]["0"].values():
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


def _md_rows(text: str) -> dict[str, tuple[float, ...]]:
    """Rows of the markdown tables whose cells are all numbers (one seed: no ±)."""
    rows = {}
    for line in text.split("## Per seed")[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        cells = cells[:1] + [c.removeprefix("**").removesuffix("**") for c in cells[1:]]
        if len(cells) == 4 and all(re.fullmatch(r"[+-]?\d+\.\d\d", c) for c in cells[1:]):
            rows[cells[0]] = tuple(float(c) for c in cells[1:])
    return rows


def test_json_agrees_with_markdown(run):
    out, results = run
    rows = _md_rows((out / "results.md").read_text())
    b, r = (results["per_seed"]["0"][k] for k in ("base", "randaugment"))
    expected = {
        "clean test accuracy": (b["summary"]["clean"], r["summary"]["clean"]),
        "CIFAR-10-C mean, 3 of the 15 benchmark corruptions": (
            b["summary"]["benchmark_available_mean"],
            r["summary"]["benchmark_available_mean"],
        ),
        "CIFAR-10-C mean, all 4 available corruptions": (
            b["summary"]["all_mean"],
            r["summary"]["all_mean"],
        ),
        "saturate_5 (the keras.io number) *": (
            b["summary"]["saturate_5"],
            r["summary"]["saturate_5"],
        ),
    }
    for sev in "12345":
        expected[f"severity {sev}"] = (
            b["summary"]["per_severity"][sev],
            r["summary"]["per_severity"][sev],
        )
    for name in b["corruptions"]:
        label = f"{name} *" if name in cifar10c.OVERLAPS_RANDAUGMENT else name
        expected[label] = (
            b["summary"]["per_corruption"][name],
            r["summary"]["per_corruption"][name],
        )
        for sev in "12345":
            expected[f"{name}_{sev}"] = (b["corruptions"][name][sev], r["corruptions"][name][sev])
    assert set(expected) == set(rows)
    for label, (x, y) in expected.items():
        md_x, md_y, md_d = rows[label]
        assert md_x == pytest.approx(100 * x, abs=0.005), label
        assert md_y == pytest.approx(100 * y, abs=0.005), label
        assert md_d == pytest.approx(100 * (y - x), abs=0.0051), label
    text = (out / "results.md").read_text()
    assert "Where RandAugment is not ahead of base" in text
    for label in reporting.behind(results, "randaugment"):
        assert f"`{label}`" in text


def test_numbers_agree_with_model_evaluate(run, cifar_files):
    """Reload each saved model and evaluate it with plain Keras on the same data."""
    out, results = run
    x_test, y_test = cifar_files["x_test"], cifar_files["y_test"]
    folder = cifar10c.FolderSource(cifar_files["cifar10c_dir"])
    generated = cifar10c.GeneratedSource(x_test, y_test, seed=0)
    for arm in ("base", "randaugment"):
        model = keras.saving.load_model(out / "seed_0" / arm / "model.keras")
        saved = results["per_seed"]["0"][arm]
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
                ), (arm, corruption, severity)


def test_saved_models_carry_the_papers_optimizer(run):
    """The recipe as trained: SGD, Nesterov 0.9, L2 5e-4, warm-up cosine over all steps."""
    out, _ = run
    model = keras.saving.load_model(out / "seed_0" / "randaugment" / "model.keras")
    opt = model.optimizer
    assert isinstance(opt, training.SGDL2)
    assert opt.nesterov and opt.momentum == 0.9 and opt.l2 == 5e-4
    schedule = opt._learning_rate
    assert isinstance(schedule, training.WarmupCosine)
    # 2 epochs x 2 steps; a half-epoch warm-up is 1 step.
    assert (schedule.peak, schedule.total_steps, schedule.warmup_steps) == (0.1, 4, 1)
    assert int(opt.iterations.numpy()) == 4


class _FakeFit:
    """Stands in for Model.fit: trains nothing, so the saved models hold exactly the
    weights each arm started from."""

    def __call__(self, model, *args, epochs=1, **kwargs):
        history = keras.callbacks.History()
        history.history = {"accuracy": [0.1] * epochs, "loss": [2.0] * epochs}
        return history


def _weights(path):
    return [w for w in keras.saving.load_model(path).get_weights()]


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_arms_share_initial_weights_and_arms_can_be_added(
    cifar_files, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(keras.Model, "fit", _FakeFit(), raising=True)
    kw = dict(corruptions="saturate")
    fast = ("--severities", "1")
    first = argv(
        cifar_files, tmp_path, "--arms", "base", "--seeds", "0,1", "--no-validation", *fast, **kw
    )
    assert cli.main(first) == 0
    initial = tmp_path / "seed_0" / "initial.weights.h5"
    stamp = initial.stat().st_mtime_ns
    # A later invocation adds an arm: it reuses seed 0's saved initial weights, keeps
    # the base results, and the report has both arms.
    second = argv(
        cifar_files,
        tmp_path,
        "--arms",
        "base,simple",
        "--seeds",
        "0,1",
        "--no-validation",
        *fast,
        **kw,
    )
    assert cli.main(second) == 0
    assert "seed 0, base: result exists, kept" in capsys.readouterr().out
    assert initial.stat().st_mtime_ns == stamp
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["arms"] == ["base", "simple"]
    assert results["config"]["seeds"] == [0, 1]
    fresh = keras.saving.load_model(tmp_path / "seed_0" / "base" / "model.keras")
    fresh.load_weights(initial)
    for seed in (0, 1):
        base = _weights(tmp_path / f"seed_{seed}" / "base" / "model.keras")
        simple = _weights(tmp_path / f"seed_{seed}" / "simple" / "model.keras")
        for a, b in zip(base, simple, strict=True):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(
        fresh.get_weights(), _weights(tmp_path / "seed_0" / "base" / "model.keras"), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    seed1 = _weights(tmp_path / "seed_1" / "base" / "model.keras")
    assert any(not np.array_equal(a, b) for a, b in zip(fresh.get_weights(), seed1, strict=True))
    # Another recipe in the same folder is refused, naming what differs.
    third = argv(cifar_files, tmp_path, "--arms", "randaugment", "--epochs", "3", *fast, **kw)
    assert cli.main(third) == 2
    assert "Received: recipe=" in capsys.readouterr().err


@pytest.mark.parametrize("arm", ["augmix", "augmix_jsd"])
def test_augmix_arms_need_aug_mix(cifar_files, tmp_path, monkeypatch, capsys, arm):
    import randaugment

    monkeypatch.delattr(randaugment, "aug_mix", raising=False)
    assert cli.main(argv(cifar_files, tmp_path, "--arms", f"base,{arm}")) == 2
    err = capsys.readouterr().err
    assert "randaugment.aug_mix" in err
    assert not (tmp_path / "seed_0").exists()  # failed before training anything


def test_augmix_jsd_arm_end_to_end(cifar_files, tmp_path):
    """The consistency-loss arm through the CLI: trained (real fit, tiny network),
    evaluated, reported under its own label with its settings, its model saved with
    its loss."""
    from randaugment.losses import AugMixConsistencyLoss

    fast = ("--severities", "1", "--no-validation")
    args = argv(cifar_files, tmp_path, "--arms", "augmix_jsd", *fast, corruptions="saturate")
    assert cli.main(args) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["arms"] == ["augmix_jsd"]
    params = results["config"]["arm_params"]["augmix_jsd"]
    assert params["consistency_weight"] == 12.0 and params["views"] == 3
    assert params["severity"] == 3 and params["width"] == 3
    markdown = (tmp_path / "results.md").read_text()
    assert "AugMix + JSD" in markdown and "Jensen-Shannon" in markdown
    assert (tmp_path / "samples_augmix_jsd.png").is_file()
    model = keras.saving.load_model(tmp_path / "seed_0" / "augmix_jsd" / "model.keras")
    assert isinstance(model.loss, AugMixConsistencyLoss) and model.loss.weight == 12.0


def test_report_only_rewrites_the_report(run, tmp_path):
    out, results = run
    (out / "results.md").unlink()
    assert cli.main(["--report-only", "--output-dir", str(out)]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["aggregate"] == results["aggregate"]
    assert (out / "results.md").is_file()
    assert cli.main(["--report-only", "--output-dir", str(tmp_path)]) == 2


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
    for flag in ("--preset", "--arms", "--seeds", "--weight-decay", "--warmup-epochs"):
        assert flag in text


def test_keras_io_model_is_resnet50v2_behind_rescaling():
    from examples.cifar10.models import build_model

    model = build_model("resnet50v2", 72)
    assert model.input_shape == (None, 72, 72, 3) and model.output_shape == (None, 10)
    rescale = model.get_layer("rescale")
    assert rescale.scale == pytest.approx(1 / 127.5) and rescale.offset == -1.0
    assert any(layer.name == "resnet50v2" for layer in model.layers)


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--seeds", "0,x"], "Received: seeds='0,x'"),
        (["--seeds", "1,1"], "Received: seeds='1,1'"),
        (["--seeds", "0", "--seed", "1"], "Received: seeds='0', seed=1"),
        (["--arms", "base,crop"], "Received: arms='base,crop'"),
        (["--severities", "0,6"], "Received: severities='0,6'"),
        (["--corruptions", "fog,rain"], "Received: corruptions='fog,rain'"),
        (["--magnitude", "1.5"], "Received: magnitude=1.5"),
        (["--epochs", "0"], "Received: epochs=0"),
        (["--warmup-epochs", "9"], "Received: warmup_epochs=9.0, epochs=7"),
        (["--optimizer", "adam"], "Received: weight_decay=0.0005, optimizer='adam'"),
        (["--train-subset", "0"], "Received: train_subset=0"),
    ],
)
def test_bad_values_are_refused(bad, message):
    with pytest.raises(SystemExit, match=re.escape(message)):
        cli.resolve(cli.parser().parse_args(bad))


def test_a_run_folder_with_another_recipe_is_refused(tmp_path):
    runs.check_or_write_config(tmp_path, {"recipe": {"epochs": 7}, "dataset": "a"})
    runs.check_or_write_config(tmp_path, {"recipe": {"epochs": 7}, "dataset": "a"})
    with pytest.raises(runs.RunMismatchError, match=re.escape("Received: dataset='b'")):
        runs.check_or_write_config(tmp_path, {"recipe": {"epochs": 7}, "dataset": "b"})


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
    """--seeds fixes initial weights, order, crops and augmentation: a rerun is identical."""
    _, first = run
    assert cli.main(argv(cifar_files, tmp_path, "--arms", "base,randaugment", "--seeds", "0")) == 0
    second = json.loads((tmp_path / "results.json").read_text())
    assert second["per_seed"] == first["per_seed"]
    assert second["histories"] == first["histories"]


@pytest.mark.slow
def test_whole_cli_two_seeds_all_corruptions(cifar_files, tmp_path):
    """The published command's shape on a few hundred images: the paper preset's three
    arms, two seeds, all 19 corruptions generated locally (frost from the photographs)."""
    args = [
        "--preset",
        "paper",
        "--data-dir",
        str(cifar_files["data_dir"]),
        "--cifar10c-source",
        "generate",
        "--model",
        "resnet8",
        "--epochs",
        "2",
        "--seeds",
        "0,1",
        "--eval-subset",
        "60",
        "--output-dir",
        str(tmp_path),
    ]
    assert cli.main(args) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    cfg = results["config"]
    assert cfg["arms"] == ["base", "randaugment", "simple"] and cfg["seeds"] == [0, 1]
    assert cfg["train_examples"] == 300 and cfg["recipe"]["steps_per_epoch"] is None
    assert len(results["cifar10c"]["sources"]) == 19 and not results["cifar10c"]["missing"]
    for arm in cfg["arms"]:
        agg = results["aggregate"][arm]
        assert agg["clean"]["n"] == 2 and agg["benchmark_mean"]["n"] == 2
        values = [results["per_seed"][s][arm]["summary"]["benchmark_mean"] for s in ("0", "1")]
        assert agg["benchmark_mean"]["mean"] == pytest.approx(np.mean(values))
        assert agg["benchmark_mean"]["std"] == pytest.approx(np.std(values, ddof=1))
        # 300 images, batch 128: 3 steps per epoch, 2 epochs.
        assert len(results["histories"]["0"][arm]["accuracy"]) == 2
    diff = results["differences"]["randaugment"]["all_mean"]
    per_seed = [
        results["per_seed"][s]["randaugment"]["summary"]["all_mean"]
        - results["per_seed"][s]["base"]["summary"]["all_mean"]
        for s in ("0", "1")
    ]
    assert diff["values"] == pytest.approx(per_seed)
    text = (tmp_path / "results.md").read_text()
    assert "CIFAR-10-C mean, 15 benchmark corruptions" in text
    assert "all 19 available corruptions" in text


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_train_only_then_evaluate(cifar_files, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(keras.Model, "fit", _FakeFit(), raising=True)
    kw = dict(corruptions="saturate")
    ra = ("--arms", "randaugment", "--no-validation", "--magnitude", "0.3", "--severities", "1")
    assert cli.main(argv(cifar_files, tmp_path, *ra, "--train-only", **kw)) == 0
    folder = tmp_path / "seed_0" / "randaugment"
    assert (folder / "train.json").is_file() and (folder / "model.keras").is_file()
    assert not (folder / "result.json").exists() and not (tmp_path / "results.json").exists()
    assert cli.main(argv(cifar_files, tmp_path, *ra, **kw)) == 0
    assert "seed 0 randaugment: trained earlier, evaluating" in capsys.readouterr().out
    result = json.loads((folder / "result.json").read_text())
    assert result["arm_params"] == {"num_ops": 2, "magnitude": 0.3}
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["arm_params"]["randaugment"]["magnitude"] == 0.3
    assert "N=2, magnitude 0.3" in (tmp_path / "results.md").read_text()
    # Another magnitude for another seed of the same arm is refused before training.
    other = argv(
        cifar_files, tmp_path, "--arms", "randaugment", "--seeds", "1", "--magnitude", "0.7",
        "--severities", "1", **kw,
    )  # fmt: skip
    assert cli.main(other) == 2
    assert "Received: {'num_ops': 2, 'magnitude': 0.7}" in capsys.readouterr().err
    assert not (tmp_path / "seed_1" / "randaugment").exists()
