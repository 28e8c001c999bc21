from django.urls import path

from deliberation import views

app_name = "deliberation"

urlpatterns = [
    path("", views.proposal_list, name="proposal_list"),
    path("new/", views.proposal_create, name="proposal_create"),
    path("<int:pk>/", views.proposal_detail, name="proposal_detail"),
    path("<int:pk>/edit/", views.proposal_edit, name="proposal_edit"),
    path("<int:pk>/step/", views.proposal_step, name="proposal_step"),
    path("<int:pk>/attachments/", views.attachment_add, name="attachment_add"),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/",
        views.attachment_file,
        name="attachment_file",
    ),
    path("<int:pk>/paper/", views.paper_record, name="paper_record"),
    path(
        "<int:pk>/paper/<int:paper_pk>/<str:decision>/",
        views.paper_decide,
        name="paper_decide",
    ),
    path("<int:pk>/cost-split/", views.cost_split, name="cost_split"),
    path("<int:pk>/progress/", views.progress_add, name="progress_add"),
    path("<int:pk>/progress/<int:note_pk>/photo/", views.progress_photo, name="progress_photo"),
]
