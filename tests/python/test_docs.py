# SPDX-License-Identifier: MIT
# Runs every ```python block of docs/python.md and docs/pytorch.md (each page's blocks in order, one namespace).
import os
import re

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PAGES = ["docs/python.md", "docs/pytorch.md"]


def blocks(page):
    with open(os.path.join(ROOT, page)) as f:
        text = f.read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("page", PAGES)
def test_examples_run(page):
    if page.endswith("pytorch.md"):
        pytest.importorskip("torch")
    code = blocks(page)
    assert code, f"{page} has no python examples"
    ns = {"__name__": "__docs__"}
    for i, block in enumerate(code):
        try:
            exec(compile(block, f"{page}[block {i}]", "exec"), ns)
        except Exception as e:  # name the block that failed
            raise AssertionError(f"{page} block {i} failed: {e!r}\n{block}") from e
