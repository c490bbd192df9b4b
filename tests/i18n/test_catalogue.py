"""The French catalogue is complete: every string the code and templates mark for
translation (extracted now, as `make translations` does) is translated, not fuzzy, with the
same placeholders, and compiles."""

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "app/translations/fr/LC_MESSAGES/messages.po"


def extracted(tmp_path) -> set:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "-q", "extract", "-F", "app/translations/babel.cfg", "-k", "_l"]
        + ["--no-location", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
    )
    return {message.id for message in read_po(pot.open("rb")) if message.id}


def test_every_marked_string_has_a_french_translation(tmp_path):
    french = read_po(CATALOGUE.open("rb"))
    wanted = extracted(tmp_path)
    assert len(wanted) > 300  # the extraction really read the code and the templates
    missing = sorted(str(msgid) for msgid in wanted if msgid not in french or not french[msgid].string)
    assert not missing, f"not in the French catalogue (run `make translations`, then translate): {missing}"
    incomplete = [m.id for m in french if m.id and isinstance(m.string, tuple) and not all(m.string)]
    fuzzy = [m.id for m in french if m.id and m.fuzzy]
    assert not incomplete and not fuzzy, (incomplete, fuzzy)
    stale = sorted(str(m.id) for m in french if m.id and m.id not in wanted)
    assert not stale, f"no longer in the code or templates: {stale}"


def test_the_catalogue_is_consistent_and_compiles(tmp_path):
    french = read_po(CATALOGUE.open("rb"))
    problems = {str(message.id): errors for message, errors in french.check() if errors}
    assert not problems  # placeholders: the same names and types in both languages
    with (tmp_path / "messages.mo").open("wb") as compiled:
        write_mo(compiled, french)
    assert (tmp_path / "messages.mo").stat().st_size > 10_000
