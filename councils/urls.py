from django.urls import path

from councils import views

app_name = "councils"

urlpatterns = [
    path("", views.rhythm, name="rhythm"),
    path("plan/", views.plan, name="plan"),
    path("<int:pk>/", views.meeting_detail, name="meeting"),
    path("<int:pk>/agenda/", views.agenda_add, name="agenda_add"),
    path("<int:pk>/hold/", views.hold, name="hold"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/attendees/add/", views.attendee_add, name="attendee_add"),
    path("<int:pk>/attendees/remove/", views.attendee_remove, name="attendee_remove"),
    path("<int:pk>/minutes/", views.correct, name="correct"),
    path("<int:pk>/decisions/", views.decide, name="decide"),
    path(
        "<int:pk>/decisions/<int:decision_pk>/problem/",
        views.decision_problem,
        name="decision_problem",
    ),
    path(
        "<int:pk>/decisions/<int:decision_pk>/wish/",
        views.decision_wish,
        name="decision_wish",
    ),
    path(
        "<int:pk>/decisions/<int:decision_pk>/proposal/",
        views.decision_proposal,
        name="decision_proposal",
    ),
]
