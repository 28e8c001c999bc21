from django.http import Http404


def track(request, token):
    raise Http404  # the tracking page lands with the resident pages
