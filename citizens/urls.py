from django.urls import path

from citizens import views

app_name = "citizens"

urlpatterns = [
    path("t/<str:token>/", views.track, name="track"),
]
