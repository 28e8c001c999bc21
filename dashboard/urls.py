from django.urls import path

from dashboard import views

app_name = "dashboard"

# Mounted under "areas/" after grids' own patterns, whose fixed words ("search/",
# "children/") must win over a node coded like them.
urlpatterns = [
    path("<str:code>/", views.area_detail, name="area_detail"),
]
