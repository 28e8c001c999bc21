from django.urls import path

from wishes import views

app_name = "wishes"

urlpatterns = [
    path("", views.wish_list, name="list"),
    path("new/", views.wish_new, name="new"),
    path("near/", views.near, name="near"),
    path("near/<int:pk>/<slug:action>/", views.near_act, name="near_act"),
    path("<int:pk>/", views.wish_detail, name="detail"),
    path("<int:pk>/sort/", views.wish_sort, name="sort"),
    path("<int:pk>/confirm/", views.wish_confirm_late, name="confirm_late"),
    path("<int:pk>/photos/<int:photo_pk>/", views.wish_photo, name="photo"),
]
