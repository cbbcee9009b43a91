"""The layout's size limits, so that a reader takes in any file or function at once: no module over
350 lines, no function over 60 lines (its docstring aside), no folder of more than 12 `.py` files
(`__init__.py` counted), in every package's source."""

from __future__ import annotations

import ast
from collections import Counter

from tests.support.wheels import ROOT

MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60
MAX_FOLDER_FILES = 12

SOURCES = sorted(p for p in (ROOT / "packages").glob("*/src/**/*.py"))


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    lines = (node.end_lineno or node.lineno) - node.lineno + 1
    if ast.get_docstring(node, clean=False) is not None:
        first = node.body[0]
        lines -= (first.end_lineno or first.lineno) - first.lineno + 1
    return lines


def test_the_sources_are_found() -> None:
    assert len(SOURCES) > 100


def test_no_module_is_over_the_limit() -> None:
    lines = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in SOURCES}
    assert {p: n for p, n in lines.items() if n > MAX_MODULE_LINES} == {}


def test_no_function_is_over_the_limit() -> None:
    long = {}
    for path in SOURCES:
        functions = (
            n
            for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        )
        for node in functions:
            if (n := _function_lines(node)) > MAX_FUNCTION_LINES:
                long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = n
    assert long == {}


def test_no_folder_is_over_the_limit() -> None:
    folders = Counter(str(p.parent.relative_to(ROOT)) for p in SOURCES)
    assert {f: n for f, n in folders.items() if n > MAX_FOLDER_FILES} == {}
