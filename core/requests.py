"""Facts about a request that several places need the same way."""

from django.conf import settings


def client_ip(request) -> str:
    """The address the request came from. Behind ``TRUSTED_PROXY_HOPS`` reverse proxies (set
    it to how many proxies add themselves to X-Forwarded-For), the address the outermost one
    saw; otherwise REMOTE_ADDR. Never trusts more hops than configured, so a client cannot
    choose its own address."""
    hops = settings.TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "")


def portal_url(path: str) -> str:
    """An absolute link for places with no request, such as e-mails."""
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def client_facts(request) -> dict:
    """Where a request came from, as the personal-data access log records it."""
    return {
        "ip": client_ip(request) or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }
