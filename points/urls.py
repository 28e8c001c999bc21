from django.urls import path

from points import views

app_name = "points"

urlpatterns = [
    path("", views.index, name="index"),
    path("deeds/new/", views.deed_new, name="deed_new"),
    path("people/<int:person_pk>/", views.person, name="person"),
    path("people/<int:person_pk>/adjust/", views.adjust, name="adjust"),
    path("people/<int:person_pk>/deed/", views.deed, name="deed"),
    path("people/<int:person_pk>/redeem/", views.redeem, name="redeem"),
    path("items/", views.items, name="items"),
    path("items/new/", views.item_add, name="item_add"),
    path("items/<int:pk>/stock/", views.item_update, name="item_update"),
    path("requests/<int:pk>/answer/", views.request_answer, name="request_answer"),
]
