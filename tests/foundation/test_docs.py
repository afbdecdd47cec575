"""The documentation states what the code does: record kinds and limits are checked against the constants."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from yoshin.domain.contract import TEXT_LIMITS, RecordKind
from yoshin.protocol import api
from yoshin.protocol.sealing import PayloadKind

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def section(path: Path, heading: str) -> str:
    """The text of the markdown section whose heading starts with `heading`, up to the next heading."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^#+ {re.escape(heading)}.*?$(.*?)(?=^#)", text, re.M | re.S)
    assert match, f"{path.name} has no section {heading!r}"
    return match.group(1)


def test_the_records_endpoint_documents_every_record_kind_and_the_batch_limit() -> None:
    records = section(DOCS / "host-api.md", "Records: `POST /api/v1/records`")
    paragraph = records.split("```")[0]
    documented = set(re.findall(r"`([a-z]+(?:_[a-z]+)+)`", paragraph))
    assert documented == {*RecordKind, PayloadKind.AUDIT_EVENT}
    assert re.search(r"\[1\.\.(\d+) sealed envelopes\]", paragraph).group(1) == str(api.MAX_BATCH)  # type: ignore[union-attr]


# --- documented commands --------------------------------------------------------------------------------

SCRIPTS = {ep.name: ep for ep in entry_points(group="console_scripts") if ep.name.startswith("yoshin-")}
WORD = re.compile(r"[a-z][a-z0-9-]*(?:/[a-z][a-z0-9-]*)*")


def documented_commands() -> set[tuple[str, ...]]:
    """Every `yoshin-... sub command` written in backticks in the README and docs/, and the subcommands the
    README's command table lists beside each script (`status`, `scanner read`, ...)."""
    texts = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    found: set[tuple[str, ...]] = set()
    for path in texts:
        text = path.read_text(encoding="utf-8")
        for span in re.findall(r"`(yoshin-[a-z]+(?: [^`]*)?)`", text):
            found |= expand(span.split())
        if path.name == "README.md":
            for script, cell in re.findall(r"^\| `(yoshin-[a-z]+)` \| (.*) \|$", text, re.M):
                for span in re.findall(r"`([^`]+)`", cell):
                    found |= expand([script, *span.split()])
    return found


def expand(words: list[str]) -> set[tuple[str, ...]]:
    """The command path (script, then subcommand words up to the first option or placeholder); `a/b` is two."""
    path = [words[0]]
    for word in words[1:]:
        if not WORD.fullmatch(word):
            break
        path.append(word)
    paths: set[tuple[str, ...]] = {()}
    for word in path:
        paths = {(*p, alternative) for p in paths for alternative in word.split("/")}
    return paths


def resolve(path: tuple[str, ...]) -> list[str]:
    """The click command path named by `path`: subcommands while the command is a group, then its arguments."""
    command = SCRIPTS[path[0]].load()
    names: list[str] = []
    for word in path[1:]:
        if not isinstance(command, click.Group):
            break  # the rest are the command's arguments
        assert word in command.commands, f"{' '.join(path)}: {word!r} is not a command of {path[0]} {' '.join(names)}"
        command = command.commands[word]
        names.append(word)
    return names


def test_the_docs_name_commands_at_all() -> None:
    commands = documented_commands()
    assert {path[0] for path in commands} == set(SCRIPTS)  # every script documented, and only ours
    assert ("yoshin-host", "provisional", "list") in commands and ("yoshin-device", "scanner", "read") in commands


@pytest.mark.parametrize("path", sorted(documented_commands()), ids=" ".join)
def test_each_documented_command_exists_and_has_help(path: tuple[str, ...]) -> None:
    names = resolve(path)
    result = CliRunner().invoke(SCRIPTS[path[0]].load(), [*names, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_a_missing_command_is_caught() -> None:
    with pytest.raises(AssertionError, match="not a command"):
        resolve(("yoshin-host", "no-such-command"))


def test_documented_limits_match_the_constants() -> None:
    host_api = DOCS.joinpath("host-api.md").read_text(encoding="utf-8")
    size = re.search(r"a body over (\d+) MiB gets 413", host_api)
    assert size is not None and int(size.group(1)) * 1024 * 1024 == api.MAX_BODY
    batches = {int(n) for n in re.findall(r"\[1\.\.(\d+) sealed envelopes\]", host_api)}
    assert batches == {api.MAX_BATCH}  # every place the docs give the batch limit
    detail = re.search(r"the only free text; (\d+) characters", DOCS.joinpath("questionnaire.md").read_text("utf-8"))
    assert detail is not None and int(detail.group(1)) == TEXT_LIMITS["detail"]
