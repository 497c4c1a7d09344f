"""A Griffe extension for the API reference: renders `Example:` sections as examples.

Google-style docstrings in `randaugment/` title their doctests `Example:`. Griffe reads
only `Examples:` (plural) as an examples section and renders `Example:` as an admonition,
where `>>>` lines become Markdown quotes. This extension renames the section before the
docstrings are parsed, so the doctests render as code. Used by `mkdocs.yml` only.
"""

from __future__ import annotations

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
