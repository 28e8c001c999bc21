"""Open311 GeoReport v2, mounted at /open311/v2/ outside the language prefix. The format is
the suffix: ``.json`` or ``.xml``."""

from django.urls import re_path

from issues import open311

app_name = "open311"

FORMAT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^services" + FORMAT, open311.service_list, name="services"),
    re_path(r"^services/(?P<code>[-\w]+)" + FORMAT, open311.service_definition, name="service"),
    re_path(r"^requests" + FORMAT, open311.request_list, name="requests"),
    # Any id reaches the view, so a malformed one gets the spec's 404 list, not an HTML page.
    re_path(r"^requests/(?P<pk>[^/.]+)" + FORMAT, open311.request_detail, name="request"),
    # A photo's media_url: its token, and the extension of its detected type.
    re_path(
        r"^photos/(?P<token>[-\w]{1,64})\.(?P<ext>jpg|png|webp)$",
        open311.request_photo,
        name="photo",
    ),
]
