"""The catalogs are complete: every user-facing string the code and templates mark for
translation has a Chinese translation (and an English entry), nothing is fuzzy, and the
compiled .mo files match the .po files."""

import gettext
import os
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.test_layers import LAYERS

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("zh_Hans", "en")


def _unquote(line: str) -> str:
    return (
        line.strip()[1:-1]
        .encode("utf-8")
        .decode("unicode_escape")
        .encode("latin-1")
        .decode("utf-8")
    )


def parse_po(path: Path) -> list[dict]:
    """A small reader for the .po files makemessages writes: msgctxt/msgid/msgid_plural/
    msgstr[n] with continuation lines, flags, and obsolete (#~) entries skipped."""
    entries, entry, key = [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if entry and "msgid" in entry:
                entries.append(entry)
            entry, key = None, None
            continue
        if line.startswith("#~"):
            continue
        entry = entry or {"flags": set()}
        if line.startswith("#,"):
            entry["flags"] |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line)
        if match:
            key = match[1]
            entry[key] = _unquote(match[2])
        elif line.startswith('"') and key:
            entry[key] += _unquote(line)
    return [e for e in entries if e["msgid"]]  # the header has an empty msgid


def _key(entry: dict) -> tuple[str, str]:
    return entry.get("msgctxt", ""), entry["msgid"]


@pytest.mark.parametrize("locale", LOCALES)
def test_nothing_fuzzy(locale):
    po = parse_po(ROOT / "locale" / locale / "LC_MESSAGES" / "django.po")
    assert not [e["msgid"] for e in po if "fuzzy" in e["flags"]]


def test_every_chinese_entry_translated():
    po = parse_po(ROOT / "locale/zh_Hans/LC_MESSAGES/django.po")
    missing = [e["msgid"] for e in po if not (e.get("msgstr") or e.get("msgstr[0]"))]
    assert missing == []


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalog_matches(locale):
    folder = ROOT / "locale" / locale / "LC_MESSAGES"
    with open(folder / "django.mo", "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for entry in parse_po(folder / "django.po"):
        if "msgid_plural" in entry or not entry.get("msgstr"):
            continue
        msgid = entry["msgid"]
        if "msgctxt" in entry:
            assert compiled.pgettext(entry["msgctxt"], msgid) == entry["msgstr"], msgid
        else:
            assert compiled.gettext(msgid) == entry["msgstr"], msgid


@pytest.mark.skipif(
    shutil.which("xgettext") is None and not os.environ.get("CI"),
    reason="needs GNU gettext (xgettext)",
)
def test_catalog_holds_every_marked_string(tmp_path, settings, monkeypatch):
    """Extract the strings afresh and compare with the committed .po. makemessages writes
    into any ``locale`` folder it finds under the current directory, so it runs in a scratch
    folder that links to the code and writes its catalog there."""
    for name in (*LAYERS, "templates"):  # every package of the house, and the templates
        (tmp_path / name).symlink_to(ROOT / name)
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command(
        "makemessages",
        locale=["zh_Hans"],
        symlinks=True,
        verbosity=0,
        ignore_patterns=["*/migrations/*"],
    )
    fresh = {_key(e) for e in parse_po(tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po")}
    committed = {_key(e) for e in parse_po(ROOT / "locale/zh_Hans/LC_MESSAGES/django.po")}
    assert len(fresh) > 300  # it really read the code
    assert sorted(fresh - committed) == []
