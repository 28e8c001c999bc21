from django.urls import path

from grids import views

app_name = "grids"

urlpatterns = [
    path("", views.area_root, name="area_root"),
]
