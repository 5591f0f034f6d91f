"""A rule file open for a round-trip edit: read, validated with its directory, written.

The files stay the one source of truth, so an edit is a careful change to a user's file:

- round-trip YAML (ruamel.yaml): comments, key order, quoting and the file's own list
  indentation are kept; only the edited lines change;
- the whole rules directory, with the edit applied, is validated with
  ``bot.rules.load.load_rules`` before anything is written: an edit that would make the
  rules invalid is refused with the loader's problems;
- the file is replaced atomically (temp file in the same directory + ``os.replace``), so
  the rules watcher never reads half a file. The temp name does not end in ``.yaml`` and is
  never taken for a rule file.

What is edited in the document is the caller's (``bot.rules.edit``: the feeds list).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.errors import EditRefused, Problem, RulesError
from bot.rules.load import load_rules, rule_files
from bot.rules.safeyaml import rule_yaml

_DASH = re.compile(r"^( *)- ", re.M)


@dataclass(slots=True)
class RuleDoc:
    """A rule file as read: its path, its text, the round-trip data and the YAML that
    reads and writes it the file's own way."""

    path: Path
    text: str
    data: Any
    yaml: YAML

    @classmethod
    def new(cls, path: Path, skeleton: str) -> RuleDoc:
        """A file not written yet, its data read from ``skeleton`` (such as ``feeds:``)."""
        yaml = _yaml_for(skeleton)
        return cls(path, "", yaml.load(skeleton), yaml)


def refuse(where: Path | str, message: str) -> EditRefused:
    """The error an edit that cannot be made raises: where, and why."""
    return EditRefused([Problem(str(where), None, message)])


def _yaml_for(text: str) -> YAML:
    """A round-trip YAML that writes lists the way this file already does (and, like the
    loader, refuses anchors and aliases)."""
    yaml = rule_yaml()
    found = _DASH.search(text)
    offset = len(found.group(1)) if found else 2
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    yaml.width = 4096  # never re-wrap a long URL or name
    yaml.preserve_quotes = True
    return yaml


def read_doc(path: Path) -> RuleDoc:
    """``path`` read for editing; refused if it cannot be read or does not parse."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise refuse(path, f"cannot read: {exc}") from None
    yaml = _yaml_for(text)
    try:
        data = yaml.load(text)
    except (YAMLError, ValueError) as exc:
        raise refuse(path, f"cannot edit a file that does not parse: {exc}") from None
    return RuleDoc(path, text, data, yaml)


def _dump(doc: RuleDoc) -> str:
    out = io.StringIO()
    doc.yaml.dump(doc.data, out)
    return out.getvalue()


def _validate(rules_dir: Path, target: Path, text: str) -> None:
    """Load the rules as they would be after the edit; raise their problems if invalid."""
    with tempfile.TemporaryDirectory(prefix="mediabot-rules-") as tmp:
        trial = Path(tmp) / "rules"
        for path in rule_files(rules_dir):
            dest = trial / path.relative_to(rules_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        dest = trial / target.relative_to(rules_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        try:
            load_rules(trial)
        except RulesError as exc:
            # Name the user's files, not the trial copies.
            problems = [
                Problem(p.file.replace(str(trial), str(rules_dir)), p.line, p.message, p.severity)
                for p in exc.problems
            ]
            raise RulesError(problems) from None


def _write_atomically(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_doc(rules_dir: Path, doc: RuleDoc) -> None:
    """Write ``doc`` to its file if the rules directory, so changed, still loads."""
    text = _dump(doc)
    _validate(rules_dir, doc.path, text)
    _write_atomically(doc.path, text)
