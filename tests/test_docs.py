"""The docs say what is true.

- every invariant that code, tests or settings cite by number is one of docs/architecture.md's, and
  nothing cites an architecture file by another name;
- the shell examples of the README and docs/commands.md run as written against the demo data, as a
  newcomer types them next to `make run`;
- every test that docs/guarantees.md names exists.
"""

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import BASE_DIR, database_url, manage_py

DOCS = BASE_DIR / "docs"
ARCHITECTURE = DOCS / "architecture.md"
GUARANTEES = DOCS / "guarantees.md"
THIS_FILE = Path(__file__).resolve()

# What the searches for citations read: the project's text files, not its environment or its output.
SKIPPED_DIRS = {
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "media",
    "var",
    "staticfiles",
    "test-artifacts",
}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".html", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".js", ".css", ".sh"}
TEXT_NAMES = {"Makefile", "Procfile", "Dockerfile", "run"}


def project_text_files() -> list[Path]:
    files = []
    for folder, subfolders, names in os.walk(BASE_DIR):
        subfolders[:] = [
            name for name in subfolders if name not in SKIPPED_DIRS and not (Path(folder) / name).is_symlink()
        ]
        for name in names:
            path = Path(folder) / name
            if (path.suffix in TEXT_SUFFIXES or name in TEXT_NAMES) and path.resolve() != THIS_FILE:
                files.append(path)
    return sorted(files)


# --- invariants -------------------------------------------------------------------------------

# "invariant 2", "Invariant 6 (docs/architecture.md)", "invariants 2 and 3", "invariants 1, 2 or 5"
CITATION = re.compile(r"\binvariants?\s+(\d+(?:\s*(?:,|and|or|&)\s*\d+)*)", re.IGNORECASE)
# A numbered invariant: "1. **A batch of N has …**" under the page's "## Invariants" heading.
NUMBERED = re.compile(r"^(\d+)\. \*\*(.+?)\*\*", re.MULTILINE)


def documented_invariants(page: str) -> dict[int, str]:
    section = re.search(r"^## Invariants\n(.*?)(?=^## |\Z)", page, re.MULTILINE | re.DOTALL)
    assert section, f"{ARCHITECTURE.relative_to(BASE_DIR)} has no '## Invariants' section"
    return {int(number): title for number, title in NUMBERED.findall(section.group(1))}


def invariant_citations(files: list[Path]) -> dict[int, list[str]]:
    """{number: ["path:line", …]} for every invariant cited by number outside docs/architecture.md."""
    cited: dict[int, list[str]] = {}
    for path in files:
        if path == ARCHITECTURE:
            continue
        for number_of_line, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            for match in CITATION.finditer(line):
                for number in re.findall(r"\d+", match.group(1)):
                    cited.setdefault(int(number), []).append(f"{path.relative_to(BASE_DIR)}:{number_of_line}")
    return cited


def test_every_cited_invariant_is_numbered_in_the_architecture_page():
    documented = documented_invariants(ARCHITECTURE.read_text())
    assert documented, "docs/architecture.md numbers no invariant"
    assert sorted(documented) == list(range(1, len(documented) + 1)), f"invariants numbered {sorted(documented)}"
    cited = invariant_citations(project_text_files())
    assert cited, "no file cites an invariant: is the search still reading the code?"
    missing = {number: places for number, places in sorted(cited.items()) if number not in documented}
    assert not missing, "cited but not numbered in docs/architecture.md:\n" + "\n".join(
        f"  invariant {number}: {', '.join(places)}" for number, places in missing.items()
    )


def test_nothing_cites_an_architecture_file_but_docs_architecture_md():
    # The page is docs/architecture.md; a bare "ARCHITECTURE.md" names a file the repository does not have.
    stale = [
        f"{path.relative_to(BASE_DIR)}:{number}: {line.strip()}"
        for path in project_text_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if "ARCHITECTURE.md" in line
    ]
    assert not stale, "cite docs/architecture.md instead:\n" + "\n".join(f"  {place}" for place in stale)


# --- shell examples ---------------------------------------------------------------------------

COMMAND_PAGES = ("README.md", "docs/commands.md")
PROMPT = ".venv/bin/python manage.py "
# The comment that ends a line starting a process that runs until it is stopped (docs/commands.md says so).
LONG_RUNNING = "# runs until stopped"
LONG_RUNNING_COMMANDS = {"runserver", "rqworker", "rqscheduler"}

# What each command prints when it did its work (stdout and stderr together). A command the docs
# show and this table does not know fails the test: say here what it should print.
EXPECTED_OUTPUT = {
    "demo": r'Demo marketer: demo /|"marketer": \{"username": "demo"',
    "import_campaigns": r"Imported \d+ campaigns? for demo|^\[\{\"id\": \d+, \"name\": ",
    "generate_posts": r"Batch #\d+: \d+ posts? for '",
    "batch_status": r"^status\s+succeeded|^\"succeeded\"$",
    "export_posts": r"Exported [1-9]\d* posts? of '|\"posts\": [1-9]\d*",
    "create_api_token": r"^Token cp_\S+… \(",
    "recover_batches": r"nothing to recover|\"dry_run\": |enqueued",
    "sweep_images": r"orphan image file|\"deleted\": \[",
}


def shell_lines(page: Path) -> list[str]:
    """The lines of a page's ```sh blocks, continuation lines joined."""
    lines = []
    for block in re.findall(r"^```sh\n(.*?)^```", page.read_text(), re.MULTILINE | re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip():
                lines.append(line.strip())
    return lines


def command_name(line: str) -> str:
    return shlex.split(line.removeprefix(PROMPT), comments=True)[0]


def documented_commands(page: Path) -> list[str]:
    """The page's manage.py lines, as a newcomer types them; a manage.py line typed another way fails."""
    lines = [line for line in shell_lines(page) if "manage.py" in line]
    other = [line for line in lines if not line.startswith(PROMPT)]
    assert not other, f"{page.name}: type manage.py as make run's second terminal does ({PROMPT}…):\n" + "\n".join(
        other
    )
    return lines


@pytest.fixture
def second_terminal(tmp_path) -> Path:
    """A scratch project folder: the interpreter, manage.py and docs/ where the examples expect them,
    and any file a command writes kept out of the real one."""
    folder = tmp_path / "project"
    folder.mkdir()
    venv = BASE_DIR / ".venv"
    (folder / ".venv").symlink_to(venv if (venv / "bin" / "python").exists() else Path(sys.prefix))
    (folder / "manage.py").symlink_to(BASE_DIR / "manage.py")
    (folder / "docs").symlink_to(DOCS)
    return folder


def run_line(line: str, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", line],
        cwd=folder,
        env={**os.environ, "DATABASE_URL": database_url()},
        capture_output=True,
        text=True,
        timeout=300,
    )


def problem_with(line: str, result: subprocess.CompletedProcess) -> str | None:
    """Why this run of a documented line does not do what the docs promise, or None."""
    output = result.stdout + result.stderr
    if result.returncode != 0:
        return f"exit status {result.returncode}\n{output.strip()[-1500:]}"
    expected = EXPECTED_OUTPUT[command_name(line)]
    if not re.search(expected, output, re.MULTILINE):
        return f"printed nothing matching {expected!r}\n{output.strip()[-1500:]}"
    if "--json" in shlex.split(line, comments=True) and "|" not in line:
        last = result.stdout.strip().splitlines()[-1:] or [""]
        try:
            json.loads(last[0])
        except json.JSONDecodeError:
            return f"--json, but the last line of stdout is not JSON: {last[0]!r}"
    return None


@pytest.mark.workers
@pytest.mark.slow
@pytest.mark.parametrize("page_name", COMMAND_PAGES)
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_shell_examples_run_as_written_against_the_demo_data(page_name, workers, second_terminal):
    page = BASE_DIR / page_name
    lines = documented_commands(page)
    assert lines, f"{page_name} shows no {PROMPT}… line"
    shown = {command_name(line) for line in lines if LONG_RUNNING not in line}
    unknown = sorted(shown - set(EXPECTED_OUTPUT) - LONG_RUNNING_COMMANDS)
    assert not unknown, f"tests/test_docs.py does not know what {unknown} print: add them to EXPECTED_OUTPUT"

    # What `make run` does before the second terminal opens: migrate (the test database is), load
    # the demo data in a child process, and start a worker.
    demo = run_line(PROMPT + "demo", second_terminal)
    assert demo.returncode == 0, demo.stderr
    workers.start("docs-1")

    problems = []
    for line in lines:
        if LONG_RUNNING in line:
            # Never ends: only its command must exist.
            found = manage_py("help", command_name(line), env=dict(os.environ), timeout=60)
            if found.returncode != 0:
                problems.append(f"{line}\n  no such command: {found.stderr.strip()}")
            continue
        if command_name(line) in LONG_RUNNING_COMMANDS:
            problems.append(f"{line}\n  runs until stopped: end the line with {LONG_RUNNING!r}")
            continue
        problem = problem_with(line, run_line(line, second_terminal))
        if problem:
            problems.append(f"{line}\n  {problem}")
    assert not problems, f"{page_name}'s examples do not work as written:\n\n" + "\n\n".join(problems)


def test_every_command_of_the_project_is_in_the_commands_page():
    page = (DOCS / "commands.md").read_text()
    documented = set(re.findall(r"^## (\w+)$", page, re.MULTILINE))
    ours = {
        path.stem
        for path in BASE_DIR.glob("*/management/commands/*.py")
        if path.stem != "__init__" and ".venv" not in path.parts
    }
    assert ours, "found no management command: has the layout changed?"
    missing = sorted(ours - documented)
    assert not missing, f"docs/commands.md has no section for {missing}"


# --- guarantees -------------------------------------------------------------------------------

TEST_REFERENCE = re.compile(r"`(test_\w+\.py)(?:::(\w+))?`")


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_the_guarantees_name_exists():
    rows = [line for line in GUARANTEES.read_text().splitlines() if line.startswith("| ") and "---" not in line]
    rows = rows[1:]  # the header
    assert len(rows) >= 40, f"docs/guarantees.md has {len(rows)} rows: is the table still there?"
    problems = []
    for row in rows:
        promise = row.split(" | ")[0].removeprefix("| ")
        references = TEST_REFERENCE.findall(row)
        if not references:
            problems.append(f"no test proves: {promise}")
        for file_name, function in references:
            path = BASE_DIR / "tests" / file_name
            if not path.exists():
                problems.append(f"tests/{file_name} does not exist ({promise})")
            elif function and function not in defined_tests(path):
                problems.append(f"tests/{file_name} has no {function} ({promise})")
    assert not problems, "docs/guarantees.md:\n" + "\n".join(f"  {problem}" for problem in problems)
