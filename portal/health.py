"""``/healthz``: the process answers (a load balancer's liveness check, and the bench's
trivial view): no session, no database, no template."""

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain")
