from django.urls import path

from dashboard import views

app_name = "dashboard"

# Mounted under "areas/" after grids' own patterns, whose fixed words ("search/",
# "children/") must win over a node coded like them.
urlpatterns = [
    # Before the nodes' codes: a node coded "engagement" would be shadowed (codes are digits).
    path("engagement/", views.engagement, name="engagement"),
    path("<str:code>/", views.area_detail, name="area_detail"),
]
