"""README.md examples run: every ```python block, and every ``araqne ...`` line of the
```console / ```bash blocks (through click's CliRunner), must succeed.

Rules:

- A block whose last non-blank line before the opening fence is ``<!-- no-test -->`` is skipped.
- Python blocks run in order in one shared namespace (a later block may use names an earlier one
  defined), in a temporary working folder where the repository's ``circuits/`` and
  ``examples/`` are available under the same names.  Doctest-style blocks (``>>>``) run their
  prompt lines only.
- In console blocks that use ``$`` prompts, only prompt lines are commands; otherwise every line
  starting with ``araqne`` is.  Backslash continuations are joined, and a command stops at a
  pipe, redirection, ``&&`` or ``;`` (the shell part is not run).
- ``ARAQNE_README`` may name another Markdown file to check (used to test a draft section).
"""

from __future__ import annotations

import os
import re
import shlex
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
README = Path(os.environ.get("ARAQNE_README") or ROOT / "README.md")
LINKED = ("circuits", "examples")
NO_TEST = "<!-- no-test -->"
PYTHON_LANGS = {"python", "py", "python3", "pycon"}
SHELL_LANGS = {"console", "bash", "sh", "shell", "shell-session", "zsh"}
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)[^\n]*$")
_SHELL_STOP = {"|", "||", ">", ">>", "<", "&&", ";", "&", "2>", "2>&1", "&>"}


@dataclass
class Block:
    lang: str
    line: int  # 1-based line of the opening fence
    text: str
    skip: bool


def read_blocks(text: str) -> list[Block]:
    """Fenced code blocks of Markdown ``text``, with their language and skip marker."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    last_text = ""  # last non-blank line outside a fence
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                last_text = lines[i].strip()
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        start = i
        body = []
        i += 1
        while i < len(lines):
            s = lines[i].strip()
            if s.startswith(fence[0] * len(fence)) and set(s) <= {fence[0]}:
                break
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append(Block(lang, start + 1, "\n".join(body) + "\n", last_text == NO_TEST))
        last_text = ""
        i += 1
    return blocks


def python_source(block: Block) -> str:
    """Source to run: the block, or the prompt lines of a doctest-style block."""
    lines = block.text.splitlines()
    if not any(l.lstrip().startswith(">>>") for l in lines):
        return block.text
    out = []
    for l in lines:
        s = l.lstrip()
        if s.startswith(">>>") or s.startswith("..."):
            out.append(s[4:] if len(s) > 3 and s[3] == " " else s[3:])
    return "\n".join(out) + "\n"


def shell_commands(block: Block) -> list[tuple[int, list[str]]]:
    """``(line, argv after 'araqne')`` of every araqne command of a console block."""
    raw = block.text.splitlines()
    prompted = any(l.lstrip().startswith("$ ") or l.strip() == "$" for l in raw)
    logical: list[tuple[int, str]] = []
    buf, first = "", 0
    for n, l in enumerate(raw):
        s = l.strip()
        if prompted and not buf:
            if not s.startswith("$"):
                continue
            s = s[1:].strip()
        if not buf:
            first = n
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        logical.append((first, buf + s))
        buf = ""
    if buf:
        logical.append((first, buf))
    cmds = []
    for n, cmd in logical:
        try:
            words = shlex.split(cmd, comments=True)
        except ValueError:
            continue
        if not words or words[0] != "araqne":
            continue
        argv = []
        for w in words[1:]:
            if w in _SHELL_STOP or w.startswith(("2>", ">", "|")):
                break
            argv.append(w)
        cmds.append((block.line + 1 + n, argv))
    return cmds


def _cases():
    if not README.is_file():
        return [pytest.param(None, None, id="no-readme",
                             marks=pytest.mark.skip(reason=f"{README} does not exist yet"))]
    blocks = read_blocks(README.read_text(encoding="utf-8"))
    cases = []
    py_index = 0
    for b in blocks:
        if b.lang in PYTHON_LANGS:
            marks = [pytest.mark.skip(reason="marked <!-- no-test -->")] if b.skip else []
            cases.append(pytest.param("python", (py_index, b), id=f"python-L{b.line}",
                                      marks=marks))
            py_index += 1
        elif b.lang in SHELL_LANGS:
            for line, argv in shell_commands(b):
                marks = [pytest.mark.skip(reason="marked <!-- no-test -->")] if b.skip else []
                cases.append(pytest.param("cli", (line, argv), id=f"araqne-L{line}",
                                          marks=marks))
    if not cases:
        cases.append(pytest.param(None, None, id="no-examples",
                                  marks=pytest.mark.skip(reason="README has no examples")))
    return cases


_CASES = _cases()
_PYTHON_BLOCKS = [p.values[1][1] for p in _CASES if p.values[0] == "python"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A fresh working folder with the repository's circuits/ and examples/ linked in."""
    work = tmp_path_factory.mktemp("readme")
    for name in LINKED:
        src = ROOT / name
        if src.exists():
            (work / name).symlink_to(src, target_is_directory=True)
    return work


@pytest.fixture(scope="module")
def namespace() -> dict:
    """The shared namespace of the Python blocks, and how many of them already ran."""
    return {"ns": {"__name__": "__readme__"}, "done": 0}


@pytest.fixture
def isolated(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    for var in ("ARAQNE_NETWORK", "ARAQNE_SEED", "ARAQNE_EFFORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    return workdir


def _run_python(block: Block, ns: dict) -> None:
    code = compile(python_source(block), f"{README.name}:{block.line}", "exec")
    exec(code, ns)  # noqa: S102 - running the documentation is the point


@pytest.mark.parametrize("kind,case", _CASES)
def test_readme_example(kind, case, isolated, namespace):
    if kind == "python":
        index, block = case
        # Run earlier blocks first when this one was selected alone (shared namespace); their
        # failures are reported by their own tests.
        while namespace["done"] < index:
            earlier = _PYTHON_BLOCKS[namespace["done"]]
            namespace["done"] += 1
            if not earlier.skip:
                try:
                    _run_python(earlier, namespace["ns"])
                except Exception:  # noqa: BLE001
                    pass
        namespace["done"] = max(namespace["done"], index + 1)
        error = None
        try:
            _run_python(block, namespace["ns"])
        except Exception:  # noqa: BLE001
            error = traceback.format_exc()
        if error is not None:
            pytest.fail(f"{README.name} line {block.line}: Python block failed:\n{error}",
                        pytrace=False)
    else:
        from araqne.cli import main
        line, argv = case
        result = CliRunner().invoke(main, argv, catch_exceptions=True)
        detail = ""
        if result.exc_info is not None and not isinstance(result.exception, SystemExit):
            detail = "".join(traceback.format_exception(*result.exc_info))
        assert result.exit_code == 0, (
            f"{README.name} line {line}: `araqne {shlex.join(argv)}` exited {result.exit_code}:\n"
            f"{result.output}{detail}")


# ------------------------------------------------------------------------------ the parser


def test_parser_rules():
    text = "\n".join([
        "Intro", "```python", "x = 1", "```",
        "<!-- no-test -->", "", "```python", "raise SystemExit(1)", "```",
        "```console", "$ araqne partition a.qasm \\", "    --qpus 2 | head", "araqne output line",
        "$ pip install araqne", "```",
        "```bash", "araqne --version  # comment", "ls", "araqne partition b.qasm -k 3 > out.txt",
        "```",
        "```pycon", ">>> y = 2", "2", ">>> for i in range(2):", "...     y += i", "```",
    ])
    blocks = read_blocks(text)
    assert [(b.lang, b.skip) for b in blocks] == [("python", False), ("python", True),
                                                   ("console", False), ("bash", False),
                                                   ("pycon", False)]
    assert blocks[0].text == "x = 1\n"
    assert [argv for _, argv in shell_commands(blocks[2])] == \
        [["partition", "a.qasm", "--qpus", "2"]]
    assert [argv for _, argv in shell_commands(blocks[3])] == \
        [["--version"], ["partition", "b.qasm", "-k", "3"]]
    assert python_source(blocks[4]) == "y = 2\nfor i in range(2):\n    y += i\n"
