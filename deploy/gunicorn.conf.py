"""gunicorn settings for the portal's web process (deploy/systemd/portal-web.service):
``gunicorn -c deploy/gunicorn.conf.py portal.wsgi``.

The access log line has the time, the request id (the X-Request-ID the portal echoes, which
nginx made) and the client's address as nginx passed it, so it matches nginx's log and the
portal's own lines."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# A page costs 20-60 ms of CPU (README, "At a city's size"): one process per core.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
# Longer than the slowest page (an import's preview of a 20 MB file), shorter than nginx's
# proxy_read_timeout (120 s).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 110))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (a slow leak never grows for ever).
max_requests = 2000
max_requests_jitter = 200
# Headers a reverse proxy adds are believed only from this address (nginx on this machine).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '%(t)s INFO gunicorn.access [%({x-request-id}o)s %({x-real-ip}i)s] "%(r)s" %(s)s '
    '%(b)s %(M)sms "%(a)s"'
)
