"""The README's production walk, run for real: the env file made from deploy/portal.env.example,
``make release`` (migrate, collectstatic, check --deploy), the first admin
(``createsuperuser``), the first county from the areas and heads spreadsheets
(``import_areas --dry-run``, ``import_areas``, ``import_heads``), gunicorn started with the
command of deploy/systemd/portal-web.service, and Debian's nginx in front of it with
deploy/nginx-portal.conf (only its ports and paths swapped) and a self-signed certificate.
Then over HTTPS, as a browser: the login page, a signed-in page, a static file under its
hashed name, a ticket's photo through its permission-checked view and X-Accel-Redirect,
the Open311 ``media_url``, ``/healthz``, the redirect from HTTP, and the request id in the
answer and in gunicorn's log. Last, the worker and beat as their units start them run the
seeded schedule.

Its own PostgreSQL database (``<suite database>_deploy``), created and dropped here; Redis
from REDIS_URL (the suite's, 127.0.0.1 database 2 when unset)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from html import unescape
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from django.conf import settings

from core.env import redis_db_url
from tests.conftest import IN_CI
from tests.production.conftest import (
    DEPLOY,
    ROOT,
    clean_environment,
    drop_database,
    free_port,
    need,
    own_database_url,
    read_env_file,
    unit_exec_start,
    write_env_file,
)

# One process sets up the deployment for the module (make test: --dist loadgroup).
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("deploy")]

HOST = "portal.example.gov.cn"
ADMIN_PASSWORD = "Deploy-admin-" + secrets.token_hex(6)
HEAD_PASSWORD = "Deploy-head-" + secrets.token_hex(6)

AREAS_CSV = """编码,名称,类型,上级编码
3698,试点市,市,
369801,试点县,区县,3698
369801001,城关街道,街道,369801
369801001001,东门社区,社区,369801001
369801001002,西门社区,社区,369801001
369801001001001,第1网格,网格,369801001001
369801001002001,第1网格,网格,369801001002
369801001001001001,1栋,楼栋,369801001001001
36980100100100100101,1单元,单元,369801001001001001
"""
HEADS_CSV = """区域编码,职务,姓名,手机
369801001001001,网格长,林小红,13912340001
369801001001001001,楼栋长,吴大海,13912340002
369801001002,社区书记,郑秀英,13912340003
"""
# Run with `manage.py shell`: what the first weeks bring (a grid head and a head of the
# other community with their logins, a problem with a photo), through the services.
SEED = """
import hashlib, io, json
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from grids import services as g
from grids.models import Area
from grids.rules import PostTitle as T
from issues import services
from issues.models import Category, Ticket

def login(username, name, phone, code, title):
    user = User.objects.create_user(username, password=PASSWORD)
    person = g.person_get_or_create(name=name, phone=phone)
    person.user = user
    person.save(update_fields=["user"])
    g.post_assign(area=Area.objects.get(code=code), title=title, person=person)

login("gridhead", "林小红", "13912340001", "369801001001001", T.GRID_HEAD)
login("outsider", "郑秀英", "13912340003", "369801001002", T.COMMUNITY_SECRETARY)
buffer = io.BytesIO()
Image.new("RGB", (12, 8), "teal").save(buffer, "PNG")
category = Category.objects.create(code="streetlight", name="路灯不亮")
ticket = services.ticket_report(
    area=Area.objects.get(code="36980100100100100101"),
    category=category,
    channel=Ticket.Channel.HOTLINE,
    description="楼下路灯不亮",
    reporter_name="张先生",
    reporter_phone="13712340009",
    photos=[SimpleUploadedFile("p.png", buffer.getvalue(), content_type="image/png")],
)
photo = ticket.photos.get()
data = photo.image.open("rb").read()
print(json.dumps({
    "ticket": ticket.pk, "photo": photo.pk, "name": photo.image.name,
    "sha256": hashlib.sha256(data).hexdigest(),
}))
"""


class _Named(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 naming ``host`` in the TLS handshake (SNI), as a browser that
    resolved the name would: nginx's default server refuses a handshake without it."""

    def __init__(self, host: str, port: int, *, address: str = "127.0.0.1", **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Browser:
    """HTTPS to the test's nginx, verifying its certificate, with a cookie jar (http.client:
    what the standard library has)."""

    def __init__(self, port: int, cafile: Path):
        self.port = port
        self.context = ssl.create_default_context(cafile=str(cafile))
        self.cookies: dict[str, str] = {}

    @property
    def origin(self) -> str:
        return f"https://{HOST}:{self.port}"

    def request(self, method: str, path: str, *, body=None, headers=None):
        conn = _Named(HOST, self.port, context=self.context)
        sent = {"Host": f"{HOST}:{self.port}", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        response.content = content
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def login(self, username: str, password: str):
        page = self.get("/accounts/login/")
        assert page.status == 200, page.status
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
        body = urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": unescape(token.group(1).decode()),
            }
        )
        answer = self.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"{self.origin}/accounts/login/",
            },
        )
        assert answer.status == 302, (answer.status, answer.content[:500])
        return answer


def _wait_until(check, *, seconds: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            pytest.fail(f"{what} did not come up in {seconds} s\n{tail}")
        time.sleep(0.2)


def _render_site(tmp: Path, *, http_port: int, https_port: int, web_port: int) -> str:
    """deploy/nginx-portal.conf with this test's ports, certificate and folders; every swap
    must find its text, so the test breaks if the sample changes shape."""
    site = (DEPLOY / "nginx-portal.conf").read_text(encoding="utf-8")
    for old, new in [
        ("    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n"),
        ("    listen [::]:80;\n", ""),
        ("    listen 80 default_server;\n", f"    listen 127.0.0.1:{http_port} default_server;\n"),
        ("    listen [::]:80 default_server;\n", ""),
        ("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{https_port} ssl http2;\n"),
        ("    listen [::]:443 ssl http2;\n", ""),
        (
            "    listen 443 ssl default_server;\n",
            f"    listen 127.0.0.1:{https_port} ssl default_server;\n",
        ),
        ("    listen [::]:443 ssl default_server;\n", ""),
        ("/etc/ssl/portal/fullchain.pem", str(tmp / "cert.pem")),
        ("/etc/ssl/portal/privkey.pem", str(tmp / "key.pem")),
        ("/var/log/nginx/", f"{tmp}/"),
        ("root /var/lib/portal;", f"root {tmp};"),
        ("alias /var/lib/portal/media/;", f"alias {tmp}/media/;"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{web_port};"),
    ]:
        assert old in site, f"deploy/nginx-portal.conf no longer has {old!r}"
        site = site.replace(old, new)
    return site


NGINX_MAIN = """
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-main-error.log warn;
events {{ worker_connections 128; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    include {tmp}/site.conf;
}}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tools = need("nginx", "openssl", "make")
    tmp = tmp_path_factory.mktemp("deploy")
    tmp.chmod(0o755)  # nginx's worker reads the static files and photos from here
    http_port, https_port, web_port, mail_port = (free_port() for _ in range(4))
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/2"
    if IN_CI:
        # The worker started here must not take the suite's tasks (tests/portal/test_redis.py
        # runs a worker on REDIS_URL at the same time): databases of its own, 8 and 9 up.
        redis_url = redis_db_url(redis_url, offset=8)
    # README step 3: the database owned by one role (the release's), the services as another
    # that owns nothing. Role names of this run's own: roles are the whole server's.
    owner_role, app_role = (f"portal_{who}_{secrets.token_hex(4)}" for who in ("owner", "app"))
    database_url = own_database_url("deploy")
    _roles(database_url, owner_role, app_role)
    owner_url, app_url = (_as_role(database_url, role) for role in (owner_role, app_role))
    processes: list[subprocess.Popen] = []
    try:
        # The env file, as an operator fills in deploy/portal.env.example.
        env_file = tmp / "portal.env"
        values = read_env_file(DEPLOY / "portal.env.example")
        assert values["TRUSTED_PROXY_HOPS"] == "1"
        assert values["PROTECTED_MEDIA_ACCEL_PREFIX"] == "/protected-media/"
        assert values["DJANGO_DEBUG"] == "false"
        values.update(
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DATABASE_URL=app_url,
            REDIS_URL=redis_url,
            PORTAL_VAR_DIR=str(tmp / "var"),
            STATIC_ROOT=str(tmp / "static"),
            MEDIA_ROOT=str(tmp / "media"),
            BACKUP_DIR=str(tmp / "backups"),
            PORTAL_BASE_URL=f"https://{HOST}:{https_port}",
            CSRF_TRUSTED_ORIGINS=f"https://{HOST}:{https_port}",
            # A mail server nobody answers at: nothing in this walk sends mail.
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(mail_port),
            EMAIL_USE_TLS="false",
            EMAIL_HOST_PASSWORD="",
            GUNICORN_BIND=f"127.0.0.1:{web_port}",
            GUNICORN_WORKERS="2",
        )
        write_env_file(env_file, values)
        base_env = {**clean_environment(), "PYTHONUNBUFFERED": "1"}
        service_env = {**base_env, **read_env_file(env_file)}

        def manage(*args: str, stdin: str | None = None, extra: dict | None = None) -> str:
            result = subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env={**service_env, **(extra or {})},
                input=stdin,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
            return result.stdout

        # The release's env file, as step 5 fills in deploy/release.env.example.
        release_env_file = tmp / "release.env"
        release_values = read_env_file(DEPLOY / "release.env.example")
        assert set(release_values) == {"DATABASE_URL", "DATABASE_APP_ROLE"}
        release_values.update(DATABASE_URL=owner_url, DATABASE_APP_ROLE=app_role)
        write_env_file(release_env_file, release_values)

        # make release: migrate as the owner, the grants, collectstatic, check --deploy.
        release = subprocess.run(
            [
                tools["make"],
                "release",
                f"ENV_FILE={env_file}",
                f"RELEASE_ENV_FILE={release_env_file}",
                f"BIN={Path(sys.executable).parent}",
            ],
            cwd=ROOT,
            env=base_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert release.returncode == 0, release.stdout[-2000:] + release.stderr[-4000:]
        assert (tmp / "static" / "staticfiles.json").exists()

        # The first admin, then the first county from its spreadsheets.
        manage(
            "createsuperuser",
            "--no-input",
            extra={
                "DJANGO_SUPERUSER_USERNAME": "admin",
                "DJANGO_SUPERUSER_EMAIL": "it@example.gov.cn",
                "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
            },
        )
        (tmp / "areas.csv").write_text(AREAS_CSV, encoding="utf-8")
        (tmp / "heads.csv").write_text(HEADS_CSV, encoding="utf-8")
        manage("import_areas", str(tmp / "areas.csv"), "--dry-run")
        dry = manage("shell", "-c", "from grids.models import Area; print(Area.objects.count())")
        assert dry.strip().splitlines()[-1] == "0", "the dry run wrote areas"
        manage("import_areas", str(tmp / "areas.csv"))
        manage("import_heads", str(tmp / "heads.csv"))
        # Tasks the seed queues stay in this process (no worker reads the shared broker here).
        seeded = json.loads(
            manage(
                "shell",
                "-c",
                f"PASSWORD = {HEAD_PASSWORD!r}\n" + SEED,
                extra={"CELERY_BROKER_URL": "memory://"},
            )
            .strip()
            .splitlines()[-1]
        )

        # gunicorn as portal-web.service starts it, nginx in front.
        web_log = tmp / "gunicorn.log"
        command = unit_exec_start("portal-web.service")
        assert Path(command[0]).name == "gunicorn"
        with web_log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=service_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        subprocess.run(
            [
                tools["openssl"], "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem"),
                "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST},IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        (tmp / "site.conf").write_text(
            _render_site(tmp, http_port=http_port, https_port=https_port, web_port=web_port),
            encoding="utf-8",
        )
        user = "user root;" if os.geteuid() == 0 else ""
        (tmp / "nginx.conf").write_text(NGINX_MAIN.format(tmp=tmp, user=user), encoding="utf-8")
        nginx = [tools["nginx"], "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
        checked = subprocess.run([*nginx, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        nginx_log = tmp / "nginx-stderr.log"
        with nginx_log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [*nginx, "-g", "daemon off;"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        browser = Browser(https_port, tmp / "cert.pem")
        _wait_until(
            lambda: browser.get("/livez").status == 200,
            seconds=30,
            what="gunicorn behind nginx",
            log=web_log,
        )
        yield {
            "tmp": tmp,
            "browser": browser,
            "http_port": http_port,
            "https_port": https_port,
            "web_port": web_port,
            "seeded": seeded,
            "web_log": web_log,
            "service_env": service_env,
            "app_url": app_url,
            "owner_role": owner_role,
        }
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        drop_database(database_url)
        _roles_dropped(database_url, owner_role, app_role)


def _maintenance(url: str):
    import psycopg

    return psycopg.connect(
        urlunsplit(urlsplit(url)._replace(path="/postgres", scheme="postgresql")),
        autocommit=True,
    )


def _roles(database_url: str, owner: str, app: str) -> None:
    """The two roles of README step 3, and the database handed to the owner."""
    from psycopg import sql

    name = urlsplit(database_url).path.lstrip("/")
    with _maintenance(database_url) as conn:
        for role in (owner, app):
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )


def _roles_dropped(database_url: str, *roles: str) -> None:
    from psycopg import sql

    with _maintenance(database_url) as conn:
        for role in roles:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _as_role(database_url: str, role: str) -> str:
    parts = urlsplit(database_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


def _browser(stack) -> Browser:
    return Browser(stack["https_port"], stack["tmp"] / "cert.pem")


def test_http_redirects_to_https(stack):
    conn = http.client.HTTPConnection("127.0.0.1", stack["http_port"])
    conn.request("GET", "/accounts/login/?next=/", headers={"Host": HOST})
    response = conn.getresponse()
    conn.close()
    assert response.status == 301
    assert response.getheader("Location") == f"https://{HOST}/accounts/login/?next=/"


def test_another_host_gets_no_answer(stack):
    """A request naming another host, or only the address, is dropped by nginx's default
    servers: no HTTP answer (444), no TLS handshake, so no certificate shown."""
    conn = http.client.HTTPConnection("127.0.0.1", stack["http_port"], timeout=10)
    conn.request("GET", "/", headers={"Host": "203.0.113.1"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        conn.getresponse()
    conn.close()
    context = ssl.create_default_context(cafile=str(stack["tmp"] / "cert.pem"))
    context.check_hostname = False
    for name in ("other.example.org", None):  # another name; an address, which sends none
        address = ("127.0.0.1", stack["https_port"])
        with socket.create_connection(address, timeout=10) as sock, pytest.raises(ssl.SSLError):
            context.wrap_socket(sock, server_hostname=name)
    # The portal's own name is answered.
    assert _browser(stack).get("/livez").status == 200


def test_login_page_then_a_signed_in_page(stack):
    browser = _browser(stack)
    page = browser.get("/accounts/login/")
    assert page.status == 200
    assert "max-age=31536000" in page.getheader("Strict-Transport-Security")
    assert "csrftoken" in browser.cookies
    assert "Secure" in " ".join(page.headers.get_all("Set-Cookie"))

    browser.login("admin", ADMIN_PASSWORD)
    home = browser.get("/")
    assert home.status == 200, home.content[:300]
    assert "试点县".encode() in home.content or b"admin" in home.content
    admin = browser.get("/admin/grids/area/")
    assert admin.status == 200
    assert "东门社区".encode() in admin.content  # the imported county


def test_static_files_have_hashed_names_cached_for_a_year(stack):
    browser = _browser(stack)
    page = browser.get("/accounts/login/")
    names = re.findall(rb'(/static/[^"\'?]+\.[0-9a-f]{12}\.(?:css|js))', page.content)
    assert names, "the login page links no hashed static file"
    answer = browser.get(names[0].decode(), headers={"Accept-Encoding": "gzip"})
    assert answer.status == 200
    # nginx's header (deploy/nginx-portal.conf), not whitenoise's ten years: nginx served it.
    assert answer.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert answer.getheader("X-Content-Type-Options") == "nosniff"
    on_disk = stack["tmp"] / names[0].decode().removeprefix("/")
    expected = on_disk.read_bytes()
    if answer.getheader("Content-Encoding") == "gzip":
        import gzip

        assert gzip.decompress(answer.content) == expected
    else:
        assert answer.content == expected
    assert browser.get("/static/no-such-file.css").status == 404
    # A plain name (the manifest itself is one) may change: an hour.
    plain = browser.get("/static/staticfiles.json")
    assert plain.status == 200
    assert plain.getheader("Cache-Control") == "public, max-age=3600"


def test_a_photo_only_through_its_view(stack):
    seeded = stack["seeded"]
    path = f"/tickets/{seeded['ticket']}/photos/{seeded['photo']}/"

    head = _browser(stack)
    head.login("gridhead", HEAD_PASSWORD)
    answer = head.get(path)
    assert answer.status == 200, answer.content[:300]
    assert hashlib.sha256(answer.content).hexdigest() == seeded["sha256"]
    assert answer.getheader("Content-Type") == "image/png"
    assert answer.getheader("X-Content-Type-Options") == "nosniff"
    assert "sandbox" in answer.getheader("Content-Security-Policy")
    assert answer.getheader("X-Accel-Redirect") is None  # nginx took it

    outsider = _browser(stack)
    outsider.login("outsider", HEAD_PASSWORD)
    assert outsider.get(path).status == 404

    anonymous = _browser(stack).get(path)
    assert anonymous.status == 302
    assert anonymous.getheader("Location").startswith("/accounts/login/")

    # Never at a path one could guess or read off a page.
    for direct in (f"/media/{seeded['name']}", f"/protected-media/{seeded['name']}"):
        assert head.get(direct).status == 404, direct


def test_open311_media_url_is_a_token_link_over_https(stack):
    browser = _browser(stack)
    listing = browser.get(f"/open311/v2/requests/{stack['seeded']['ticket']}.json")
    assert listing.status == 200
    [row] = json.loads(listing.content)
    media_url = urlsplit(row["media_url"])
    assert (media_url.scheme, media_url.netloc) == ("https", f"{HOST}:{stack['https_port']}")
    # An unguessable token, not the photo's or the ticket's number.
    assert re.fullmatch(r"/open311/v2/photos/[A-Za-z0-9_-]{24,}\.png", media_url.path)
    photo = browser.get(media_url.path)
    assert photo.status == 200
    assert hashlib.sha256(photo.content).hexdigest() == stack["seeded"]["sha256"]
    assert "sandbox" in photo.getheader("Content-Security-Policy")


def test_the_services_role_owns_nothing_and_cannot_rewrite_the_history(stack):
    """The services connect as a role that may read and write rows and nothing else: it
    cannot switch off the history's triggers, alter or drop a table, nor change or delete a
    history row, even with the triggers' refusal aside."""
    import psycopg

    with psycopg.connect(stack["app_url"], autocommit=True) as conn:
        (owned,) = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
        ).fetchone()
        assert owned == 0
        (tables, owner) = conn.execute(
            "SELECT count(*), min(tableowner) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        assert tables > 100 and owner == stack["owner_role"]
        assert conn.execute("SELECT count(*) FROM grids_area").fetchone()[0] > 0  # rows: yes
        (history,) = conn.execute("SELECT count(*) FROM grids_areahistory").fetchone()
        assert history > 0  # the imports wrote it, as this role
        refused = [
            "ALTER TABLE grids_area DISABLE TRIGGER ALL",
            "DROP TABLE grids_areahistory",
            "CREATE TABLE mine (id int)",
            "UPDATE grids_areahistory SET pgh_label = 'insert'",
            "DELETE FROM grids_areahistory",
            "TRUNCATE grids_areahistory",
            "SET session_replication_role = replica",
        ]
        for statement in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        (after,) = conn.execute("SELECT count(*) FROM grids_areahistory").fetchone()
        assert after == history
        # Nor write around the history: a temporary table named like it (it would come first
        # in the search path) cannot be made, and pgtrigger's ignore setting, which any
        # session may set, is honoured for the tables' owner only.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TEMP TABLE grids_areahistory (LIKE public.grids_areahistory)")
        names = [
            name
            for (name,) in conn.execute(
                "SELECT tgname FROM pg_trigger"
                " WHERE tgrelid = 'grids_area'::regclass AND NOT tgisinternal"
            ).fetchall()
        ]
        conn.execute(
            "SELECT set_config('pgtrigger.ignore', %s, false)", ["{" + ",".join(names) + "}"]
        )
        conn.execute(
            "UPDATE grids_area SET name = name || '·' WHERE id = (SELECT min(id) FROM grids_area)"
        )
        (written,) = conn.execute("SELECT count(*) FROM grids_areahistory").fetchone()
        assert written == history + 1


def test_healthz_reports_database_cache_and_broker(stack):
    answer = _browser(stack).get("/healthz")
    assert answer.status == 200
    assert json.loads(answer.content) == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
    }
    assert "no-cache" in answer.getheader("Cache-Control")


def test_request_id_from_nginx_in_the_answer_and_in_gunicorns_log(stack):
    browser = _browser(stack)
    # A client cannot choose the id the logs show: nginx sends its own $request_id.
    answer = browser.get("/accounts/login/", headers={"X-Request-ID": "forged-by-client-0001"})
    rid = answer.getheader("X-Request-ID")
    assert re.fullmatch(r"[0-9a-f]{32}", rid), rid
    deadline = time.monotonic() + 5
    while rid not in stack["web_log"].read_text(errors="replace"):
        assert time.monotonic() < deadline, "the request id is not in gunicorn's access log"
        time.sleep(0.1)
    [line] = [ln for ln in stack["web_log"].read_text().splitlines() if rid in ln]
    assert "GET /accounts/login/" in line and " 200 " in line
    assert "127.0.0.1" in line  # the client's address as nginx passed it
    assert "forged-by-client" not in stack["web_log"].read_text()
    # nginx writes its line once the answer is sent: it may come a moment after the answer.
    nginx_log = stack["tmp"] / "portal.access.log"
    deadline = time.monotonic() + 5
    while f"rid={rid}" not in nginx_log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the request id is not in nginx's access log"
        time.sleep(0.1)


def test_a_body_over_the_upload_limit_is_refused_by_nginx(stack):
    browser = _browser(stack)
    answer = browser.request(
        "POST",
        "/open311/v2/requests.json",
        body=b"x" * (26 * 1024 * 1024),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert answer.status == 413


def test_the_worker_and_beat_units_run_the_schedule(stack):
    """The worker and beat as their units start them: beat sends the seeded schedule's due
    entries, the worker runs them against the portal's database and logs each with its
    task id; beat keeps its pid file where the unit says (one beat on a machine)."""
    tmp = stack["tmp"]
    env = {**stack["service_env"], "CELERY_TRACE_LOG_LEVEL": "INFO"}
    worker = unit_exec_start("portal-worker.service")
    beat = unit_exec_start("portal-beat.service")
    assert worker[1:4] == ["-A", "portal", "worker"] and beat[1:4] == ["-A", "portal", "beat"]
    assert "--pidfile=/run/portal-beat/beat.pid" in beat
    beat = [a.replace("/run/portal-beat/", f"{tmp}/") for a in beat]
    # The seeded entries count from when migrate wrote them (the stack's setup, moments ago):
    # an hour has passed for the interval ones, as on a portal that has run a while.
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import datetime as dt; from django.utils import timezone; "
            "from django_celery_beat.models import PeriodicTask; "
            "PeriodicTask.objects.filter(interval__isnull=False).update("
            "last_run_at=timezone.now() - dt.timedelta(hours=1))",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    started = []
    logs = {"worker": tmp / "worker.log", "beat": tmp / "beat.log"}
    try:
        for name, command in (("worker", worker), ("beat", beat)):
            with logs[name].open("wb") as out:
                started.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        # Each line of a task's run carries the task's id where a request's id would be.
        ran = re.compile(
            r"INFO celery\.app\.trace \[([0-9a-f-]{36}) -\] Task (\S+)\[\1\] succeeded"
        )
        _wait_until(
            lambda: ran.search(logs["worker"].read_text(errors="replace")),
            seconds=90,
            what="a scheduled task run by the worker",
            log=logs["worker"],
        )
        assert (tmp / "beat.pid").exists()
        assert "DatabaseScheduler" in logs["beat"].read_text(errors="replace")
        tasks = {m.group(2) for m in ran.finditer(logs["worker"].read_text(errors="replace"))}
        assert tasks <= {entry["task"] for entry in settings.BEAT_SCHEDULE_SEED.values()}
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
