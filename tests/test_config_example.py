"""config.example.toml against the key declarations (config.SCHEMA): every key
it shows is declared, shows its default unless it is a listed sample, and every
declared key is shown, in declaration order, unless it is listed as absent."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kmeet_bridge import config
from kmeet_bridge.config import Option

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"

# Keys the example leaves out on purpose: an inline secret belongs in a file
# (the *_file line says "or: password = ...").
ABSENT = {("imap", "password"), ("smtp", "password"), ("kmeet", "token")}

# Keys the example sets to a sample value rather than their default, and why.
SAMPLES = {
    ("imap", "password_file"): "the unit's credential file",
    ("smtp", "username"): "most servers want a login",
    ("smtp", "password_file"): "the unit's credential file",
    ("kmeet", "token_file"): "the unit's credential file",
    ("kmeet.room", "drive_id"): "commented out: no drive until recording is wanted",
    ("senders", "allow"): "patterns to adapt",
    ("senders", "require_authenticated"): "recommended; `check` warns while it is off",
    ("senders", "trusted_authserv_ids"): "what require_authenticated needs",
    ("metrics", "listen"): "commented out: off unless set",
}

SECTION = re.compile(r"^\[([\w.]+)\]")
KEY = re.compile(r"^(\w+)\s*=")
COMMENTED_KEY = re.compile(r"^#\s*(\w+\s*=.*)$")  # "# drive_id = 12345": a key shown, not set


def shown_keys(text: str) -> list[tuple[str, str, Any, bool]]:
    """Every key the example shows, in file order: (section, key, value, commented)."""
    data = tomllib.loads(text)
    section = None
    shown = []
    for line in text.splitlines():
        if match := SECTION.match(line):
            section = match[1]
        elif section is None:
            continue  # the header's prose
        elif match := KEY.match(line):
            table = data
            for part in section.split("."):
                table = table[part]
            shown.append((section, match[1], table[match[1]], False))
        elif match := COMMENTED_KEY.match(line):
            ((key, value),) = tomllib.loads(match[1]).items()
            shown.append((section, key, value, True))
    return shown


def is_default(option: Option, value: Any) -> bool:
    if option.type is float and type(value) is int:
        value = float(value)  # `20` for 20.0, as the file may write it
    if option.type is list and isinstance(value, list):
        value = tuple(value)  # settings hold lists as tuples
    return type(value) is type(option.default) and value == option.default


def drift(text: str, schema: dict[str, dict[str, Option]]) -> list[str]:
    """Where the example text and the declarations disagree, one sentence each."""
    problems = []
    declared = [(section, key) for section, options in schema.items() for key in options]
    for name in sorted((ABSENT | SAMPLES.keys()) - set(declared)):
        problems.append(f"[{name[0]}] {name[1]} is listed here but not declared")
    shown = shown_keys(text)
    for section, key, value, commented in shown:
        option = schema.get(section, {}).get(key)
        line = f"[{section}] {'# ' if commented else ''}{key} = {value!r}"
        if option is None:
            problems.append(f"{line}: the key is not declared")
        elif (section, key) in ABSENT:
            problems.append(f"{line}: the key is listed as absent")
        elif option.required:
            if commented:
                problems.append(f"{line}: a required key must be set")
        elif (section, key) in SAMPLES:
            if is_default(option, value):
                problems.append(f"{line}: the default, so not a sample")
        elif not is_default(option, value):
            problems.append(f"{line}: the declared default is {option.default!r}")
    names = [(section, key) for section, key, _, _ in shown]
    for section, key in declared:
        if (section, key) not in names and (section, key) not in ABSENT:
            problems.append(f"[{section}] {key} is declared but not in the example")
    in_order = [name for name in declared if name in names]
    for (section, key), (want_section, want_key) in zip(
        [name for name in names if name in declared], in_order, strict=True
    ):
        if (section, key) != (want_section, want_key):
            problems.append(
                f"[{section}] {key} is where the declarations have [{want_section}] {want_key}"
            )
            break  # the first key out of order; the rest follow from it
    return problems


def test_the_example_shows_every_declared_key_with_its_default() -> None:
    assert drift(EXAMPLE.read_text(encoding="utf-8"), config.SCHEMA) == []


def test_the_example_loads_with_its_commented_keys_set() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    uncommented = "\n".join(re.sub(r"^# (\w+ =)", r"\1", line) for line in text.splitlines())
    settings = config.from_mapping(tomllib.loads(uncommented), {}, secrets=False)
    assert settings.kmeet.room.drive_id == 12345
    assert settings.metrics_listen == ("127.0.0.1", 9464)


# -- the check above fails when either side changes ---------------------------------


def redeclared(section: str, key: str, option: Option | None) -> dict[str, dict[str, Option]]:
    """SCHEMA with one key of `section` declared anew (in its place, or last), or
    without it (`option` None)."""
    options = {**config.SCHEMA[section], key: option}
    return {
        **config.SCHEMA,
        section: {name: value for name, value in options.items() if value is not None},
    }


PORT = config.SCHEMA["imap"]["port"]
IMAP_PASSWORD_FILE = 'password_file = "/etc/kmeet-bridge/imap-password"'


@pytest.mark.parametrize(
    ("edits", "schema", "problems"),
    [
        pytest.param(
            [("port = 993", "port = 994")],
            config.SCHEMA,
            ["[imap] port = 994: the declared default is 993"],
            id="the example changes a default",
        ),
        pytest.param(
            [],
            redeclared("imap", "port", replace(PORT, default=994)),
            ["[imap] port = 993: the declared default is 994"],
            id="a declaration changes a default",
        ),
        pytest.param(
            [("max_parts = 500", "# max_parts = 5000")],
            config.SCHEMA,
            ["[limits] # max_parts = 5000: the declared default is 500"],
            id="a commented default drifts",
        ),
        pytest.param(
            [("idle = true ", "# ")],
            config.SCHEMA,
            ["[imap] idle is declared but not in the example"],
            id="the example drops a key",
        ),
        pytest.param(
            [],
            redeclared("limits", "max_lines", Option(int, 1000, help="lines")),
            ["[limits] max_lines is declared but not in the example"],
            id="a key is declared and not shown",
        ),
        pytest.param(
            [("[state]\n", "[state]\ncolour = 1\n")],
            config.SCHEMA,
            ["[state] colour = 1: the key is not declared"],
            id="the example shows an undeclared key",
        ),
        pytest.param(
            [],
            redeclared("kmeet", "calendar_id", None),
            ["[kmeet] calendar_id = 72618: the key is not declared"],
            id="a declaration is removed",
        ),
        pytest.param(
            [('from_name = "kMeet"\n', ""), ("[smtp]\n", '[smtp]\nfrom_name = "kMeet"\n')],
            config.SCHEMA,
            ["[smtp] from_name is where the declarations have [smtp] host"],
            id="the example moves a key",
        ),
        pytest.param(
            [(IMAP_PASSWORD_FILE, f'password = "..."\n{IMAP_PASSWORD_FILE}')],
            config.SCHEMA,
            ["[imap] password = '...': the key is listed as absent"],
            id="an inline secret appears",
        ),
        pytest.param(
            [("calendar_id = 72618", "# calendar_id = 72618")],
            config.SCHEMA,
            ["[kmeet] # calendar_id = 72618: a required key must be set"],
            id="a required key is commented out",
        ),
        pytest.param(
            [("require_authenticated = true", "require_authenticated = false")],
            config.SCHEMA,
            ["[senders] require_authenticated = False: the default, so not a sample"],
            id="a sample shows the default",
        ),
    ],
)
def test_drift_is_found(
    edits: list[tuple[str, str]], schema: dict[str, dict[str, Option]], problems: list[str]
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    assert drift(text, schema) == problems
