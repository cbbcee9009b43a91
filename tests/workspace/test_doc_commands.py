"""Every command line in the docs works after the README's own setup, where `./uvw` keeps uv off PATH.

Each line of a shell block (and each usage line of an example's docstring) starts with a program that
setup provides, never a bare `uv`, `pyflyte` or `openai-batch-emulator` (they are not on PATH); the
cheap form of each `./uvw` command (its `--help`) runs, so a misspelt script, entity or subcommand
fails here. What the commands themselves do is tested elsewhere or is a benchmark (too slow here).
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

import pytest

from tests.support.wheels import uv

from .readme import ROOT, fresh_env, sh, system_python_bin, uvw_cache_with

pytestmark = pytest.mark.slow

DOCS = sorted(
    {
        ROOT / "README.md",
        ROOT / "benchmarks/README.md",
        ROOT / "images/README.md",
        ROOT / "integration/README.md",
        *ROOT.glob("packages/*/README.md"),
        *ROOT.glob("docs/**/*.md"),
    }
)
EXAMPLES = sorted(ROOT.glob("examples/*.py"))
SHELL_BLOCKS = ("sh", "bash", "shell", "console")

# What a shell has after the README's setup: the wrapper, the python3 it needs, the shell's builtins.
AFTER_SETUP = {"./uvw", "python3", "bash", "git", "export", "cd"}
# Programs a doc names as prerequisites of its own, beyond the README's setup.
PREREQUISITES = {
    "images/README.md": {"docker"},  # "docker buildx build": the images' own build instructions
    "docs/self-hosted.md": {"vllm", "llama-server"},  # the model servers the page puts it in front of
}
# What a command line of an example's docstring starts with (after any VAR=value).
PROGRAM_WORDS = {"./uvw", "uv", "uvx", "pyflyte", "python", "python3", "openai-batch-emulator"}


@dataclass(frozen=True)
class Command:
    """One simple command of a doc's shell block: its words, without leading VAR=value assignments."""

    doc: str
    line: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.doc}: {self.line}"


def shell_lines(text: str) -> list[str]:
    """The command lines of every shell block, continuation lines joined, comments and output left out."""
    lines = []
    for info, body in re.findall(r"^```(\w*)\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL):
        if info not in SHELL_BLOCKS:
            continue
        body = re.sub(r"\\\n", " ", body)
        if info == "console":
            body = "\n".join(line[2:] for line in body.splitlines() if line.startswith("$ "))
        for line in body.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line.strip())
    return lines


def simple_commands(line: str) -> list[tuple[str, ...]]:
    """A command line's simple commands (split at `&&`, `||`, `;`, `|`, `&`), leading assignments dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in ("&&", "||", ";", "|", "&"):
            commands.append([])
        elif commands[-1] or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", token):
            commands[-1].append(token)
    return [tuple(words) for words in commands if words]


def doc_commands() -> list[Command]:
    found = []
    for doc in DOCS:
        name = str(doc.relative_to(ROOT))
        for line in shell_lines(doc.read_text()):
            found += [Command(name, line, words) for words in simple_commands(line)]
    return found


def console_scripts(readme: Path) -> set[str]:
    """The commands a package installs: what its README (its PyPI page) may run as they are."""
    # A package's folder is named after its distribution.
    return {e.name for e in distribution(readme.parent.name).entry_points if e.group == "console_scripts"}


def allowed_programs(doc: str) -> set[str]:
    allowed = AFTER_SETUP | PREREQUISITES.get(doc, set())
    if doc.startswith("packages/"):
        allowed |= console_scripts(ROOT / doc)
    return allowed


def help_form(words: tuple[str, ...]) -> tuple[str, ...] | None:
    """The `--help` form of a `./uvw` command: its program and leading arguments (script, entity,
    subcommand), up to its first option or placeholder; None for other programs."""
    if words[0] != "./uvw":
        return None
    rest = list(words[1:])
    head = ["./uvw"]
    if rest[:1] == ["run"]:
        head.append(rest.pop(0))
        # uv run's own flags before the program: the docs use only these, which take no value.
        while rest and rest[0] in ("--frozen", "--offline"):
            rest.pop(0)
        head.append("--frozen")
    for word in rest:
        if word.startswith(("-", "[")):
            break
        head.append(word)
    return (*head, "--help")


COMMANDS = doc_commands()
HELP_FORMS = sorted({form for c in COMMANDS if (form := help_form(c.words))})


def test_the_docs_have_shell_commands() -> None:
    # The parser must see the README's own blocks, or the tests below would pass on nothing.
    readme = [c for c in COMMANDS if c.doc == "README.md"]
    assert any(c.words[:4] == ("./uvw", "run", "--frozen", "pytest") for c in readme), readme
    assert len(HELP_FORMS) >= 10, HELP_FORMS


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_each_doc_command_starts_with_a_program_setup_provides(command: Command) -> None:
    program = command.words[0]
    assert program in allowed_programs(command.doc), (
        f"{command}: `{program}` is not on PATH after the README's setup; run it as `./uvw run --frozen "
        f"{program} ...` (uv itself: `./uvw ...`)"
    )
    if program == "bash":
        assert (ROOT / command.words[1]).is_file(), command


# Inline code that is a command to copy, run as setup leaves PATH: a bare uv, or a repository script or
# the emulator started without `./uvw run`. (A span naming a program, as in "`pyflyte run` prints", is prose.)
BARE_INLINE = re.compile(r"^(uvx? \S|python3? (examples|benchmarks)/|pyflyte run \S|openai-batch-emulator -)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_inline_command_needs_uv_on_path(doc: Path) -> None:
    name = str(doc.relative_to(ROOT))
    spans = [" ".join(span.split()) for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", doc.read_text())]
    bare = [span for span in spans if BARE_INLINE.match(span)]
    if name.startswith("packages/"):
        bare = [span for span in bare if span.split()[0] not in console_scripts(doc)]
    assert not bare, f"{name}: run these as `./uvw run --frozen ...` (uv itself: `./uvw ...`): {bare}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_example_usage_line_runs_through_uvw(example: Path) -> None:
    docstring = ast.get_docstring(ast.parse(example.read_text())) or ""
    for line in docstring.splitlines():
        # Prose may hold an unmatched quote, which shlex refuses: split on blanks to find the program.
        words = [w for w in line.split() if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
        if words and words[0] in PROGRAM_WORDS:
            assert words[0] == "./uvw", f"{example.name}: {line.strip()}"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("command", HELP_FORMS, ids=" ".join)
def test_each_uvw_command_runs_in_its_help_form(command: tuple[str, ...], tmp_path: Path) -> None:
    # After the README's setup: python3 alone on PATH, uv in uvw's cache (this suite's uv, so no download).
    env = fresh_env(
        [system_python_bin(tmp_path / "bin")], UVW_CACHE_DIR=str(uvw_cache_with(Path(uv()), tmp_path / "uvw"))
    )
    run = sh(shlex.join(command), ROOT, env, timeout=300)
    assert run.returncode == 0, f"{shlex.join(command)}\n{run.stdout}{run.stderr}"
    assert run.stdout.strip(), run.stderr
    assert "uvw: installing" not in run.stderr


def test_the_ci_script_the_readme_runs_is_a_shell_script() -> None:
    run = subprocess.run(["bash", "-n", str(ROOT / ".ci/run")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
