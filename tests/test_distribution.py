"""The package is releasable: its metadata is true and its distributions work alone.

Fast checks (default suite): one version source, the CHANGELOG section of a final
version, the Apache-2.0 licence in the metadata and in LICENSE, the running Python
among the classifiers, and the README's three first commands.

Slow checks (`python -m pytest -m slow tests/test_distribution.py`, a step of
`.ci/run`): `python -m build` makes the sdist and the wheel (from the sdist) of a copy
of this tree without a warning, `twine check --strict` passes, the wheel holds the
package and its package data and nothing else, and the wheel installed in a fresh venv
runs the README's quick start and its preview command from a directory outside this
tree. They need `build` and `twine` (the `test` extra) and reach PyPI, or pip's cache,
for TensorFlow.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

import randaugment
from randaugment import _version

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CHANGELOG = ROOT / "CHANGELOG.md"
PACKAGE = "randaugment"
VERSION = randaugment.__version__

INSTALL = 'pip install -e ".[test]"'
PREVIEW = "python -m randaugment preview"
TESTS = "python -m pytest"


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python 3.11 and later")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# -- release metadata (fast) ------------------------------------------------------------


def test_version_has_one_source():
    config = _pyproject()
    project = config["project"]
    assert "version" not in project, "pyproject.toml must not spell the version"
    assert "version" in project.get("dynamic", [])
    dynamic = config["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "randaugment._version.__version__"}
    assert randaugment.__version__ == _version.__version__
    assignments = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / PACKAGE).rglob("*.py"))
        if path.name != "_version.py"
        and re.search(r"^__version__\s*=", path.read_text(encoding="utf-8"), re.M)
    ]
    assert not assignments, f"__version__ assigned outside _version.py: {assignments}"


_HEADING = re.compile(r"^## \[(?P<name>[^\]]+)\](?: - (?P<date>\S+))?\s*$", re.M)
_FINAL = re.compile(r"\d+\.\d+\.\d+")


def test_changelog_has_the_release_section():
    """Keep a Changelog: `## [Unreleased]` first, then `## [X.Y.Z] - YYYY-MM-DD`, newest
    first. A final version of the package has its section; a pre-release has none yet."""
    headings = [(m["name"], m["date"]) for m in _HEADING.finditer(CHANGELOG.read_text("utf-8"))]
    assert headings and headings[0] == ("Unreleased", None), headings[:1]
    releases = headings[1:]
    for name, date in releases:
        assert _FINAL.fullmatch(name), f"CHANGELOG heading [{name}] is not a version"
        assert date is not None, f"CHANGELOG section [{name}] has no date"
        datetime.date.fromisoformat(date)  # raises on a date not in YYYY-MM-DD
    versions = [tuple(int(part) for part in name.split(".")) for name, _ in releases]
    assert versions == sorted(versions, reverse=True), "CHANGELOG versions not newest first"
    names = [name for name, _ in releases]
    if _FINAL.fullmatch(VERSION):
        assert names and names[0] == VERSION, (
            f"the package is version {VERSION!r}; CHANGELOG.md's newest release is {names[:1]}"
        )
    else:
        assert VERSION.split(".dev")[0] not in names, f"{VERSION!r} is not released yet"


def test_licence_is_apache_2():
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    licence_classifiers = [c for c in project["classifiers"] if c.startswith("License ::")]
    assert not licence_classifiers, "PEP 639: the licence expression replaces these"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:5] == ["Apache", "License", "Version", "2.0,", "January"]
    assert "END OF TERMS AND CONDITIONS" in text
    readme = README.read_text(encoding="utf-8")
    licence_section = readme.split("## Licence", 1)[1]
    assert "Apache-2.0" in licence_section and "LICENSE" in licence_section


def test_running_python_is_classified():
    classifiers = _pyproject()["project"]["classifiers"]
    running = f"Programming Language :: Python :: {sys.version_info[0]}.{sys.version_info[1]}"
    assert running in classifiers, f"tests run on a Python the classifiers omit: {running!r}"
    assert "Typing :: Typed" in classifiers
    assert (ROOT / PACKAGE / "py.typed").is_file()


def readme_top_commands() -> list[str]:
    """The commands of the README's first ```bash block, without their comments."""
    match = re.search(r"^```bash\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    assert match, "README.md has no ```bash block"
    lines = (line.split("#", 1)[0].strip() for line in match.group(1).splitlines())
    return [line for line in lines if line]


def test_readme_starts_with_install_see_it_work_and_test():
    commands = readme_top_commands()
    assert len(commands) == 3, commands
    install, preview, tests = commands
    assert install == INSTALL
    assert preview.startswith(PREVIEW), preview
    assert tests == TESTS


# -- the distributions (slow) -------------------------------------------------------------


def _run(args, *, cwd, timeout, env=None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode} (in {cwd})\n"
            f"--- stdout (end)\n{result.stdout[-4000:]}\n--- stderr (end)\n{result.stderr[-4000:]}"
        )
    return result


def _source_files() -> list[str]:
    """This tree's files as a clone would have them: git's tracked and new files."""
    if not (ROOT / ".git").exists():
        pytest.fail(f"{ROOT} is not a git work tree; the build test copies its files")
    listed = _run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        timeout=60,
    ).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def _package_files(names) -> set[str]:
    """The files of the package, its modules and package data, out of `names`."""
    return {
        n
        for n in names
        if n.startswith(f"{PACKAGE}/") and "__pycache__" not in n and not n.endswith(".pyc")
    }


def _clean_env() -> dict:
    """The environment without what would let Python see this tree or another venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """`(wheel, sdist, build output, package files)`, built from a copy of this tree's
    files (so that the build writes nothing here)."""
    for module in ("build", "twine"):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f"`{module}` is not installed: pip install -e '.[test]'")
    src = tmp_path_factory.mktemp("src")
    files = _source_files()
    for name in files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    start = time.monotonic()
    built = _run([sys.executable, "-m", "build", "--outdir", out, src], cwd=src, timeout=1200)
    print(f"\n[distribution] python -m build: {time.monotonic() - start:.0f} s")
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return wheels[0], sdists[0], built.stdout + built.stderr, _package_files(files)


@pytest.mark.slow
def test_build_prints_no_warning(dists):
    *_, output, _ = dists
    # PYTHONDONTWRITEBYTECODE makes setuptools say it skips byte-compiling; not ours.
    warnings = [
        line
        for line in output.splitlines()
        if re.search(r"warn|deprecat", line, re.I) and "byte-compiling is disabled" not in line
    ]
    assert not warnings, "python -m build warned:\n" + "\n".join(warnings)


@pytest.mark.slow
def test_twine_check_passes(dists):
    wheel, sdist, *_ = dists
    result = _run(
        [sys.executable, "-m", "twine", "check", "--strict", wheel, sdist],
        cwd=wheel.parent,
        timeout=300,
    )
    assert result.stdout.count("PASSED") == 2, result.stdout


@pytest.mark.slow
def test_wheel_holds_the_package_and_nothing_else(dists):
    wheel, _, _, package_files = dists
    dist_info = f"{PACKAGE}-{VERSION}.dist-info/"
    assert wheel.name == f"{PACKAGE}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(dist_info + "METADATA").decode("utf-8")
    others = sorted(n for n in names if not n.startswith((f"{PACKAGE}/", dist_info)))
    assert not others, f"the wheel holds files outside the package: {others}"
    assert _package_files(names) == package_files, (
        f"missing from the wheel: {sorted(package_files - names)}; "
        f"not in the source tree: {sorted(_package_files(names) - package_files)}"
    )
    for required in ("randaugment/py.typed", "randaugment/data/astronaut.jpg"):
        assert required in names
    assert dist_info + "licenses/LICENSE" in names
    fields = [line for line in metadata.splitlines() if line and not line[0].isspace()]
    assert f"Version: {VERSION}" in fields
    assert "License-Expression: Apache-2.0" in fields
    assert not [f for f in fields if f.startswith(("License:", "Classifier: License"))]


@pytest.mark.slow
def test_sdist_holds_what_builds_the_wheel(dists):
    _, sdist, _, package_files = dists
    top = f"{PACKAGE}-{VERSION}/"
    with tarfile.open(sdist) as archive:
        names = {m.name[len(top) :] for m in archive.getmembers() if m.isfile()}
    for required in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "PKG-INFO"):
        assert required in names, f"{required} is not in the sdist"
    assert package_files <= names, f"missing: {sorted(package_files - names)}"
    stray = sorted(
        n for n in names if n.split("/")[0] in ("tests", "docs", "examples", "benchmarks")
    )
    assert not stray, f"the sdist holds repository files: {stray}"


@pytest.fixture(scope="module")
def fresh_venv(dists, tmp_path_factory):
    """`(python, workdir, site_packages)`: the wheel installed in a new venv.

    The venv is made by the base interpreter (no site-packages of this one) and used
    from an empty directory outside this tree. pip's cache is used, as a user's would be.
    """
    wheel = dists[0]
    base = tmp_path_factory.mktemp("fresh")
    venv, workdir = base / "venv", base / "work"
    workdir.mkdir()
    env = _clean_env()
    start = time.monotonic()
    _run([sys.executable, "-m", "venv", venv], cwd=workdir, timeout=300, env=env)
    python = venv / "bin" / "python"
    installed = time.monotonic()
    _run([python, "-m", "pip", "install", wheel], cwd=workdir, timeout=2400, env=env)
    print(
        f"\n[distribution] fresh venv: {installed - start:.0f} s; "
        f"pip install of the wheel and its dependencies: {time.monotonic() - installed:.0f} s"
    )
    site = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=workdir,
        timeout=60,
        env=env,
    ).stdout.strip()
    yield python, workdir, Path(site)
    shutil.rmtree(base, ignore_errors=True)  # about 2 GB with TensorFlow


@pytest.mark.slow
def test_installed_wheel_is_the_package_not_this_tree(fresh_venv):
    python, workdir, site = fresh_venv
    code = (
        "import randaugment, randaugment._sample as s\n"
        "print(randaugment.__file__)\n"
        "print(randaugment.__version__)\n"
        "image = s.sample_image()\n"
        "print(image.shape, image.dtype)\n"
    )
    result = _run([python, "-c", code], cwd=workdir, timeout=600, env=_clean_env())
    file, version, sample = result.stdout.strip().splitlines()[-3:]
    assert Path(file).is_relative_to(site), f"imported {file}, not from {site}"
    assert not Path(file).resolve().is_relative_to(ROOT), file
    assert version == VERSION
    assert sample == "(256, 256, 3) uint8"
    assert (site / PACKAGE / "py.typed").is_file()


def quick_start_blocks() -> list[str]:
    """The ```python blocks of README's "## Quick start" section."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Quick start\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, 'README.md has no "## Quick start" section'
    return re.findall(r"^```python\n(.*?)^```", match.group(1), re.M | re.S)


@pytest.mark.slow
def test_readme_quick_start_runs_from_the_installed_wheel(fresh_venv):
    python, workdir, _ = fresh_venv
    blocks = quick_start_blocks()
    assert blocks, "README's quick start has no ```python block"
    for i, block in enumerate(blocks, 1):
        script = workdir / f"quick_start_{i}.py"
        script.write_text(block, encoding="utf-8")
        stdout = _run([python, script], cwd=workdir, timeout=900, env=_clean_env()).stdout
        # A print's comment in the README shows what it prints.
        for expected in re.findall(r"^\s*print\(.*\)\s+#\s*(.+?)\s*$", block, re.M):
            assert expected in stdout.splitlines(), (
                f"quick start block {i} should print {expected!r}; it printed:\n{stdout}"
            )


@pytest.mark.slow
def test_readme_preview_command_runs_from_the_installed_wheel(fresh_venv):
    python, workdir, site = fresh_venv
    if not (site / PACKAGE / "__main__.py").is_file():
        pytest.skip("the wheel has no randaugment/__main__.py (the preview command) yet")
    command = next(c for c in readme_top_commands() if c.startswith(PREVIEW))
    args = [python, *command.split()[1:]]
    stdout = _run(args, cwd=workdir, timeout=900, env=_clean_env()).stdout
    paths = [Path(workdir, p) for p in re.findall(r"\S+\.png\b", stdout)]
    assert paths, f"{command!r} printed no PNG path:\n{stdout}"
    for path in paths:
        assert path.is_file(), f"{command!r} printed {path}, which does not exist"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
        assert not path.resolve().is_relative_to(site), f"{path} written into site-packages"
