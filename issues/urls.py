from django.urls import path

from issues import views

app_name = "issues"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("report/", views.inbox, name="report"),
    path("meetings/", views.inbox, name="meeting_list"),
]
