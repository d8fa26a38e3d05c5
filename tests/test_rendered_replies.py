"""docs/replies/ shows exactly what people receive: rendering again gives the
committed files, so a change of wording cannot leave them behind."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from kmeet_bridge.models import LANGUAGES

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs" / "replies"


def load_renderer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "render_replies", ROOT / "scripts" / "render_replies.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_replies_are_what_the_code_renders(tmp_path: Path) -> None:
    renderer = load_renderer()
    written = renderer.render(tmp_path)
    assert len(written) == 2 * len(LANGUAGES) * len(renderer.KINDS)
    for path in [*written, tmp_path / "index.html"]:
        committed = DOCS / path.relative_to(tmp_path)
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed} is out of date: run scripts/render_replies.py"
        )


def test_no_english_debugging_notes_in_other_languages() -> None:
    for language in ("fr", "de", "it"):
        for path in (DOCS / language).glob("*.txt"):
            text = path.read_text(encoding="utf-8")
            for english in ("language:", " read as ", "no date:", "duration", "password on"):
                assert english not in text, (path, english)


def test_every_refusal_example_is_on_its_own_line() -> None:
    expected = {
        "en": ["    tomorrow 10:00", "    tomorrow 14:00–15:00"],
        "fr": ["    demain à 10:00", "    demain de 14:00 à 15:00"],
        "de": ["    morgen 10:00 Uhr", "    morgen von 14:00 bis 15:00"],
        "it": ["    domani alle 10:00", "    domani dalle 14:00 alle 15:00"],
    }
    for language, lines in expected.items():
        text = (DOCS / language / "refused-examples.txt").read_text(encoding="utf-8")
        assert "\n".join(lines) in text, language
