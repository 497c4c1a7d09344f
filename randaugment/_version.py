"""The package version, in one place.

setuptools reads it from here at build time (`[tool.setuptools.dynamic]` in
pyproject.toml, without importing the package) and `randaugment.__version__` is this
value. A final version such as "0.1.0" has its own section in CHANGELOG.md
(tests/test_distribution.py checks it).
"""

__version__ = "0.1.0"
