"""List source files over 600 lines and functions over 100 lines (the house size limits).

A function's length runs from its ``def`` line to its last line, docstring included. A
function may exceed the limit only if it is a Numba kernel whose length is justified in a
comment containing ``length:`` right above its decorator.

Usage::

    python tools/funclen.py opauc_sim   # exit 1 if anything is over
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_FILE = 600
MAX_FUNCTION = 100


def _justified(lines: list[str], node: ast.FunctionDef) -> bool:
    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
    above = lines[max(0, first - 4) : first - 1]
    return any("length:" in line for line in above) and bool(node.decorator_list)


def main(folders: list[str]) -> int:
    over = []
    for folder in folders or ["opauc_sim"]:
        for path in sorted(Path(folder).rglob("*.py")):
            text = path.read_text()
            lines = text.splitlines()
            if len(lines) > MAX_FILE:
                over.append(f"{path}: {len(lines)} lines (file limit {MAX_FILE})")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = node.end_lineno - node.lineno + 1
                    if length > MAX_FUNCTION:
                        why = " (justified Numba kernel)" if _justified(lines, node) else ""
                        line = f"{path}:{node.lineno} {node.name}: {length} lines{why}"
                        over.append(line) if not why else print(line)
    for line in over:
        print(line)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
