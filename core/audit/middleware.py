"""The request's part of the audit history's context."""

from django.db import connection
from pghistory.middleware import HistoryMiddleware as _HistoryMiddleware

from core.requests import client_ip


class HistoryMiddleware(_HistoryMiddleware):
    """Every history row a writing request leaves names its user (``user``: the login's id,
    None for a resident on the resident pages or someone not signed in), its URL, method
    and client address."""

    def get_context(self, request):
        return {
            **super().get_context(request),
            "method": request.method,
            "ip": client_ip(request) or None,
        }

    def __call__(self, request):
        if connection.vendor != "postgresql":  # no triggers, no history (core.audit)
            return self.get_response(request)
        return super().__call__(request)
