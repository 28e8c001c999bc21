from django.urls import path

from citizens import views

app_name = "citizens"

urlpatterns = [
    path("r/", views.home, name="home"),
    path("r/sign-in/", views.sign_in, name="sign_in"),
    path("r/sign-in/code/", views.sign_in_code, name="sign_in_code"),
    path("r/sign-out/", views.sign_out, name="sign_out"),
    path("r/privacy/", views.privacy, name="privacy"),
    path("r/report/", views.report, name="report"),
    path("r/places/", views.places, name="places"),
    path("r/problems/<int:pk>/", views.problem, name="problem"),
    path("r/problems/<int:pk>/rate/", views.problem_rate, name="problem_rate"),
    path("r/problems/<int:pk>/photos/<int:photo_pk>/", views.problem_photo, name="problem_photo"),
    path("t/<str:token>/", views.track, name="track"),
    path("t/<str:token>/rate/", views.track_rate, name="track_rate"),
    path("t/<str:token>/photos/<int:photo_pk>/", views.track_photo, name="track_photo"),
]
