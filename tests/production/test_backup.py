"""Backups that restore: deploy/backup.sh dumps the database (pg_dump) and the uploads (a tar
of MEDIA_ROOT), deploy/restore.sh puts both back. Dump, restore into an empty database, then
damage it (rows deleted and changed, photos lost) and restore over it: every table has the
same rows (count and an md5 of its rows in order), every sequence the same value and every
photo the same bytes as when the backup was made. The rotation keeps the newest BACKUP_KEEP.

The data is the suite's small world (tests/conftest.py: areas, posts, people, households,
residents) and problems with photos, through the services, committed in the test database;
the restores go to a database of this test's own (``<suite database>_backup``)."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from tests.production.conftest import (
    DEPLOY,
    clean_environment,
    drop_database,
    need,
    own_database_url,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

KEY_TABLES = (
    "grids_area",
    "grids_post",
    "grids_person",
    "residents_household",
    "residents_resident",
    "issues_ticket",
    "issues_ticketevent",
    "issues_ticketphoto",
)


def _test_database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


# A table's rows as text (every column), sorted, hashed: equal only if every value is.
ROWS_DIGEST = """
SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))
FROM public."{table}" t
"""


def snapshot(url: str) -> dict[str, tuple]:
    """Each table's row count and md5 of its rows in their text form, sorted; each
    sequence's last value."""
    found = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        for (table,) in tables:
            found[table] = conn.execute(ROWS_DIGEST.format(table=table)).fetchone()
        for (name,) in conn.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall():
            found[f"sequence {name}"] = conn.execute(
                f'SELECT last_value, is_called FROM public."{name}"'  # noqa: S608
            ).fetchone()
    return found


def files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _png(color: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 6), color).save(buffer, "PNG")
    return SimpleUploadedFile("p.png", buffer.getvalue(), content_type="image/png")


def _run(script: str, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(DEPLOY / script), *args],
        env={**clean_environment(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_backup_then_restore_gives_back_every_row_and_photo(world, settings, tmp_path):
    need("pg_dump", "pg_restore", "tar")
    from issues import services
    from issues.models import Category, Ticket

    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    category = Category.objects.create(code="streetlight", name="路灯不亮")
    for color, area in (("red", world.u1), ("blue", world.u4)):
        services.ticket_report(
            area=area,
            category=category,
            channel=Ticket.Channel.HOTLINE,
            description="楼下路灯不亮",
            reporter_name="张先生",
            reporter_phone="13712340009",
            photos=[_png(color)],
        )

    source = _test_database_url()
    before = snapshot(source)
    for table in KEY_TABLES:
        assert before[table][0] > 0, f"{table} is empty: the backup would prove nothing"
    photos = files(media)
    assert len(photos) == 2

    # Older backups: the rotation keeps the newest BACKUP_KEEP=2 of each kind.
    backups = tmp_path / "backups"
    backups.mkdir()
    for stamp in ("20240101T000000Z", "20250101T000000Z"):
        (backups / f"portal-{stamp}.dump").write_bytes(b"old")
        (backups / f"portal-{stamp}.media.tar.gz").write_bytes(b"old")
    out = _run(
        "backup.sh",
        env={
            "DATABASE_URL": source,
            "MEDIA_ROOT": str(media),
            "BACKUP_DIR": str(backups),
            "BACKUP_KEEP": "2",
        },
    )
    [dump] = [Path(line.split(": ", 1)[1]) for line in out.splitlines() if ".dump" in line]
    [tarball] = [Path(line.split(": ", 1)[1]) for line in out.splitlines() if ".tar.gz" in line]
    assert sorted(p.name for p in backups.iterdir()) == sorted(
        [
            "portal-20250101T000000Z.dump",
            "portal-20250101T000000Z.media.tar.gz",
            dump.name,
            tarball.name,
        ]
    )
    assert dump.stat().st_mode & 0o077 == 0  # personal data: readable by the portal user only
    assert not list(backups.glob("*.partial"))

    target = own_database_url("backup")
    restored_media = tmp_path / "restored" / "media"
    env = {"DATABASE_URL": target, "MEDIA_ROOT": str(restored_media)}
    try:
        # Into an empty database (a new machine).
        _run("restore.sh", str(dump), str(tarball), env=env)
        assert snapshot(target) == before
        assert files(restored_media) == photos

        # Over a damaged one: rows gone and changed, a photo lost, a table dropped.
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("DELETE FROM issues_ticketevent")
            conn.execute("UPDATE grids_area SET name = 'wrong'")
            conn.execute("DROP TABLE residents_resident CASCADE")
        next(restored_media.rglob("*.png")).unlink()
        assert snapshot(target) != before

        _run("restore.sh", str(dump), str(tarball), env=env)
        assert snapshot(target) == before
        assert files(restored_media) == photos
        assert (tmp_path / "restored" / "media.before-restore").is_dir()
    finally:
        drop_database(target)


def test_backup_refuses_without_its_settings(tmp_path):
    need("pg_dump")
    result = subprocess.run(
        [str(DEPLOY / "backup.sh")],
        env={**clean_environment(), "MEDIA_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "DATABASE_URL" in result.stderr
    result = subprocess.run(
        [str(DEPLOY / "backup.sh")],
        env={
            **clean_environment(),
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "MEDIA_ROOT": str(tmp_path),
            "BACKUP_DIR": str(tmp_path / "b"),
            "BACKUP_KEEP": "0",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "BACKUP_KEEP" in result.stderr
    # A dump that fails leaves nothing that looks like a backup.
    result = subprocess.run(
        [str(DEPLOY / "backup.sh")],
        env={
            **clean_environment(),
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "MEDIA_ROOT": str(tmp_path),
            "BACKUP_DIR": str(tmp_path / "b"),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert not list((tmp_path / "b").glob("*.dump"))
    assert not list((tmp_path / "b").glob("*.partial"))  # personal data left half-written


def test_the_database_password_is_on_no_command_line():
    """pg_dump and pg_restore are given DATABASE_URL as libpq's PG* variables
    (deploy/pgenv.sh): every user of the machine can read a command line."""
    for script in ("backup.sh", "restore.sh"):
        text = (DEPLOY / script).read_text()
        assert "pgenv.sh" in text and '"$DATABASE_URL"' not in text, script
    result = subprocess.run(
        [
            "sh",
            "-c",
            '. "$0"; echo "$PGHOST|$PGPORT|$PGUSER|$PGPASSWORD|$PGDATABASE|$PGSSLMODE"',
            str(DEPLOY / "pgenv.sh"),
        ],
        env={
            **clean_environment(),
            "DATABASE_URL": "postgres://portal%40x:p%20w'd@db.example:6543/portal?sslmode=require",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "db.example|6543|portal@x|p w'd|portal|require"
