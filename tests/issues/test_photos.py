"""Ticket photos: what is stored (a re-encoded JPEG, PNG or WebP under a random name, never
the client's name or bytes), who may open it (the ticket's scope, or the public through the
token link Open311 announces), and how it is served (its detected type, nosniff, inline).

The permission matrix: every persona × every place of the world (tests/conftest.py), plus a
ticket handed to the housing department and one in another city, for the private photo view;
anonymous visitors go to the login page. The public token view answers only for tickets the
public Open311 API shows, and a wrong token is a 404."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import Resolver404, clear_url_caches, resolve, reverse
from django.utils import timezone
from PIL import ExifTags, Image

from grids import services as grid_services
from grids.rules import AreaKind
from issues import open311, services
from issues.models import Ticket, TicketPhoto

pytestmark = pytest.mark.django_db

STORED_NAME = re.compile(r"^tickets/\d{4}/\d{2}/[0-9a-f]{32}\.(png|jpg|webp)$")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def png_bytes(size=(8, 6), color="red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` pixels (a decompression bomb's
    calling card): signature, IHDR, an empty IDAT and IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def report_form(world, category, photos) -> dict:
    return {
        "area": world.u1.code,
        "category": category.pk,
        "channel": "hotline",
        "description": "楼道灯不亮",
        "reporter_phone": "13700000009",
        "photos": photos,
    }


def photo_url(photo: TicketPhoto) -> str:
    return reverse("issues:ticket_photo", args=[photo.ticket_id, photo.pk])


# --- point 1: stored XSS through a photo ------------------------------------------------------


def test_point1_html_polyglot_is_stored_as_png_under_a_random_name(world, login_as, t):
    polyglot = png_bytes() + b"<script>alert(document.cookie)</script>"
    client = login_as("unit_head")
    response = client.post(
        reverse("issues:report"), report_form(world, t.noise, [upload("evil.html", polyglot)])
    )
    assert response.status_code == 302
    photo = TicketPhoto.objects.get()
    assert STORED_NAME.match(photo.image.name), photo.image.name
    assert photo.image.name.endswith(".png") and "evil" not in photo.image.name
    assert photo.kind == TicketPhoto.Kind.PNG
    with photo.image.open("rb") as fh:
        stored = fh.read()
    assert b"<script" not in stored  # re-encoded: the trailing junk is gone
    with Image.open(io.BytesIO(stored)) as image:
        assert (image.format, image.size) == ("PNG", (8, 6))


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        (
            "evil.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        ("evil.html", b"<html><script>alert(1)</script></html>", "text/html"),
        ("x.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"),
    ],
)
def test_point1_svg_html_and_other_types_are_a_field_error(
    world, login_as, t, name, content, content_type
):
    client = login_as("unit_head")
    response = client.post(
        reverse("issues:report"),
        report_form(world, t.noise, [upload(name, content, content_type)]),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["photos"]
    assert not Ticket.objects.exists() and not TicketPhoto.objects.exists()


def test_point1_photo_is_served_as_its_detected_type_with_nosniff(world, login_as, t):
    ticket = t.report("U1", photos=[upload("evil.html", png_bytes() + b"<script>x</script>")])
    photo = ticket.photos.get()
    response = login_as("unit_head").get(photo_url(photo))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == (
        f'inline; filename="problem-{ticket.pk}-photo-{photo.pk}.png"'
    )
    assert "private" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\x89PNG") and b"<script" not in body


def test_point1_accel_redirect_when_the_web_server_serves_the_files(world, login_as, t, settings):
    settings.PROTECTED_MEDIA_ACCEL_PREFIX = "/protected-media/"
    photo = t.report("U1", photos=[upload("p.png", png_bytes())]).photos.get()
    response = login_as("unit_head").get(photo_url(photo))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{photo.image.name}"
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == b""


def test_point1_ticket_page_links_photos_through_the_scoped_view(world, login_as, t):
    ticket = t.report("U1", photos=[upload("p.png", png_bytes())])
    photo = ticket.photos.get()
    html = login_as("unit_head").get(reverse("issues:ticket_detail", args=[ticket.pk]))
    html = html.content.decode()
    assert f'src="{photo_url(photo)}"' in html
    assert "/media/" not in html


def _jpeg_with_gps_upside(size=(40, 20)) -> bytes:
    image = Image.new("RGB", size, "blue")
    exif = image.getexif()
    exif[ExifTags.Base.Orientation] = 6  # rotate 90° clockwise to show upright
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (27.0, 57.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 21.0, 10.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_point1_exif_gps_is_stripped_and_the_photo_stays_upright(t):
    original = _jpeg_with_gps_upside()
    with Image.open(io.BytesIO(original)) as image:  # the test photo does carry a location
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    photo = t.report("U1", photos=[upload("IMG_0001.JPG", original, "image/jpeg")]).photos.get()
    assert photo.kind == TicketPhoto.Kind.JPEG and photo.image.name.endswith(".jpg")
    with photo.image.open("rb") as fh, Image.open(fh) as image:
        exif = image.getexif()
        assert image.format == "JPEG"
        assert image.size == (20, 40)  # turned upright before the orientation tag went
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert ExifTags.IFD.GPSInfo not in exif and ExifTags.Base.Make not in exif


def test_point1_webp_is_kept_as_webp(t):
    buffer = io.BytesIO()
    Image.new("RGBA", (5, 5), (0, 128, 0, 128)).save(buffer, "WEBP")
    photo = t.report("U1", photos=[upload("p.bin", buffer.getvalue(), "")]).photos.get()
    assert photo.kind == TicketPhoto.Kind.WEBP and photo.image.name.endswith(".webp")


def test_point1_media_path_is_not_served_even_in_debug(settings, t):
    import portal.urls

    photo = t.report("U1", photos=[upload("p.png", png_bytes())]).photos.get()
    settings.DEBUG = True
    try:
        clear_url_caches()
        importlib.reload(portal.urls)
        with pytest.raises(Resolver404):
            resolve(f"/media/{photo.image.name}")
    finally:
        settings.DEBUG = False
        importlib.reload(portal.urls)
        clear_url_caches()


def test_point1_open311_media_url_is_a_token_link_for_public_tickets_only(client, t, monkeypatch):
    ticket = t.report("U1", photos=[upload("evil.html", png_bytes() + b"<script>x</script>")])
    photo = ticket.photos.get()
    [row] = client.get(f"/open311/v2/requests/{ticket.pk}.json").json()
    media_url = row["media_url"]
    assert media_url.startswith("http://testserver/open311/v2/photos/")
    assert "/media/" not in media_url and photo.token in media_url
    # The name is the random token alone: nothing of the ticket number or the upload name.
    assert media_url.rsplit("/", 1)[-1] == f"{photo.token}.png"

    response = client.get(media_url)  # anonymous, as the public is
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline; filename=")
    assert b"<script" not in b"".join(response.streaming_content)

    bad = reverse("open311:photo", kwargs={"token": "x" * len(photo.token), "ext": "png"})
    assert client.get(bad).status_code == 404
    wrong_type = reverse("open311:photo", kwargs={"token": photo.token, "ext": "jpg"})
    assert client.get(wrong_type).status_code == 404
    # The photo follows the ticket: once the public list no longer shows it, neither is the
    # photo shown.
    monkeypatch.setattr(open311, "public_tickets", lambda: Ticket.objects.exclude(pk=ticket.pk))
    assert client.get(media_url).status_code == 404


# --- point 5: decompression bombs -------------------------------------------------------------


def test_point5_decompression_bomb_png_is_a_form_error(world, login_as, t):
    bomb = png_declaring(100_000, 100_000)
    assert len(bomb) < 100
    client = login_as("unit_head")
    response = client.post(
        reverse("issues:report"), report_form(world, t.noise, [upload("bomb.png", bomb)])
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["photos"]
    assert len(errors) == 1 and "40,000,000" in errors[0]
    assert not Ticket.objects.exists() and not TicketPhoto.objects.exists()


def test_point5_the_pixel_cap_is_a_setting_checked_before_decoding(t, settings):
    from django.core.exceptions import ValidationError

    settings.PHOTO_MAX_PIXELS = 100
    with pytest.raises(ValidationError) as caught:
        t.report("U1", photos=[upload("p.png", png_bytes(size=(11, 10)))])
    assert "photos" in caught.value.message_dict
    # Below Pillow's own bomb limit, so only the portal's cap refuses it.
    settings.PHOTO_MAX_PIXELS = 40_000_000
    with pytest.raises(ValidationError):
        t.report("U1", photos=[upload("p.png", png_declaring(8000, 6000))])
    assert not Ticket.objects.exists()


# --- the permission matrix for photos ---------------------------------------------------------

PLACES = ("U1", "U2", "U3", "U4", "handed", "elsewhere")
# Whose photos each persona may open: its area scope, and for the department handler the
# ticket handed to its department. "handed" lies in U1; "elsewhere" in another city.
VISIBLE = {
    "unit_head": {"U1", "handed"},
    "building_head": {"U1", "U2", "handed"},
    "grid_head": {"U1", "U2", "handed"},
    "community": {"U1", "U2", "U3", "handed"},
    "street": {"U1", "U2", "U3", "U4", "handed"},
    "county": {"U1", "U2", "U3", "U4", "handed"},
    "department": {"handed"},
    "admin": set(PLACES),
    "outsider": {"U4"},
}
MATRIX = [(persona, place) for persona in VISIBLE for place in PLACES]


@pytest.fixture
def photos(t) -> dict[str, TicketPhoto]:
    def with_photo(place, **extra):
        return t.report(place, photos=[upload("p.png", png_bytes())], **extra).photos.get()

    found = {key: with_photo(key) for key in ("U1", "U2", "U3", "U4")}
    t.settings(hard_via_street=False)
    handed = t.report("U1", tier="hard", photos=[upload("p.png", png_bytes())])
    county = t.user("county")
    meeting = services.meeting_open(area=t.county, title="交办会", actor=county)
    services.meeting_assign(
        meeting=meeting,
        ticket=handed,
        parts=[services.Part(t.housing, timezone.now() + dt.timedelta(days=5))],
        actor=county,
    )
    found["handed"] = handed.photos.get()
    city = grid_services.area_create(code="3799", name="别市", kind=AreaKind.CITY)
    district = grid_services.area_create(
        code="379921", name="别县", kind=AreaKind.DISTRICT, parent=city
    )
    found["elsewhere"] = with_photo(district)
    return found


@pytest.mark.parametrize(("persona", "place"), MATRIX)
def test_photo_matrix(photos, login_as, persona, place):
    response = login_as(persona).get(photo_url(photos[place]))
    if place in VISIBLE[persona]:
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
    else:
        assert response.status_code == 404


def test_photo_matrix_covers_every_persona_and_place():
    from tests.conftest import PERSONAS

    assert set(VISIBLE) == set(PERSONAS) and len(MATRIX) == 9 * 6


@pytest.mark.parametrize("place", PLACES)
def test_anonymous_photo_goes_to_login(client, photos, place):
    response = client.get(photo_url(photos[place]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_photo_under_another_ticket_is_a_404(photos, login_as):
    mine, other = photos["U1"], photos["U2"]
    url = reverse("issues:ticket_photo", args=[mine.ticket_id, other.pk])
    assert login_as("unit_head").get(url).status_code == 404


def test_photo_views_answer_get_only(photos, login_as, client):
    photo = photos["U1"]
    assert login_as("unit_head").post(photo_url(photo)).status_code == 405
    client.logout()
    public = reverse("open311:photo", kwargs={"token": photo.token, "ext": "png"})
    assert client.post(public).status_code == 405


def test_public_photo_view_serves_public_tickets_only(client, photos, monkeypatch):
    photo = photos["elsewhere"]
    url = reverse("open311:photo", kwargs={"token": photo.token, "ext": "png"})
    assert client.get(url).status_code == 200
    hidden = photo.ticket_id
    monkeypatch.setattr(open311, "public_tickets", lambda: Ticket.objects.exclude(pk=hidden))
    assert client.get(url).status_code == 404
    for token in ("", "nope", photos["U1"].token[:-1] + "?"):
        assert client.get(f"/open311/v2/photos/{token}.png").status_code == 404


# --- photos stored before the fix -------------------------------------------------------------


def test_point1_the_migration_reencodes_and_renames_stored_photos(
    t, login_as, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    migration = importlib.import_module("issues.migrations.0005_photo_kind_token")
    ticket = t.report("U1")
    old = default_storage.save(
        f"tickets/2025/01/{ticket.pk}-evil.html", ContentFile(png_bytes() + b"<script>x</script>")
    )
    missing = f"tickets/2025/01/{ticket.pk}-gone.png"
    # Rows as the old code left them (raw writes: no service stores such rows any more).
    legacy = TicketPhoto.objects.create(ticket=ticket, image=old, kind="")
    lost = TicketPhoto.objects.create(ticket=ticket, image=missing, kind="")
    tokens = {legacy.token, lost.token}

    with django_capture_on_commit_callbacks(execute=True):
        migration.reencode(TicketPhoto.objects.filter(pk__in=[legacy.pk, lost.pk]))

    legacy.refresh_from_db()
    lost.refresh_from_db()
    assert STORED_NAME.match(legacy.image.name) and legacy.kind == TicketPhoto.Kind.PNG
    assert not default_storage.exists(old)
    with legacy.image.open("rb") as fh:
        assert b"<script" not in fh.read()
    # A file that is gone keeps its row, gets no type and is never served.
    assert (lost.image.name, lost.kind) == (missing, "")
    assert not {legacy.token, lost.token} & tokens
    client = login_as("unit_head")
    assert client.get(photo_url(lost)).status_code == 404
    assert client.get(photo_url(legacy)).status_code == 200
