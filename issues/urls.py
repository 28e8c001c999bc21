from django.urls import path

from issues import views

app_name = "issues"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("ledger.xlsx", views.inbox_ledger, name="inbox_ledger"),
    path("ledger/print/", views.inbox_print, name="inbox_print"),
    path("bulk/", views.inbox_bulk, name="inbox_bulk"),
    path("report/", views.report, name="report"),
    path("<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("<int:pk>/photos/<int:photo_pk>/", views.ticket_photo, name="ticket_photo"),
    path("<int:pk>/do/", views.ticket_do, name="ticket_do"),
    path("<int:pk>/do/<str:action>/", views.ticket_act, name="ticket_act"),
    path("<int:pk>/reporter-phone/", views.reporter_phone_reveal, name="reporter_phone"),
    path(
        "<int:pk>/reporters/<int:reporter_pk>/phone/",
        views.reporter_row_phone_reveal,
        name="reporter_row_phone",
    ),
    path("<int:pk>/description/", views.description_reveal, name="description_reveal"),
    path(
        "<int:pk>/return-visits/<int:visit_pk>/log/",
        views.return_visit_log,
        name="return_visit_log",
    ),
    path("parts/", views.department_parts, name="department_parts"),
    path("meetings/", views.meeting_list, name="meeting_list"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
]
