from django.urls import path

from citizens import points as points_views
from citizens import proposals, views
from citizens import wishes as wish_views

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
    path("r/wishes/", wish_views.wishes_home, name="wishes"),
    path("r/wishes/new/", wish_views.wish_new, name="wish_new"),
    path("r/wishes/open/", wish_views.wishes_open, name="wishes_open"),
    path(
        "r/wishes/open/<int:pk>/<slug:action>/",
        wish_views.wishes_open_act,
        name="wishes_open_act",
    ),
    path("r/wishes/<int:pk>/", wish_views.wish, name="wish"),
    path("r/wishes/<int:pk>/confirm/", wish_views.wish_confirm, name="wish_confirm"),
    path("r/wishes/<int:pk>/photos/<int:photo_pk>/", wish_views.wish_photo, name="wish_photo"),
    path("r/points/", points_views.points_home, name="points"),
    path(
        "r/points/items/<int:item_pk>/request/",
        points_views.points_request,
        name="points_request",
    ),
    path("t/<str:token>/", views.track, name="track"),
    path("t/<str:token>/rate/", views.track_rate, name="track_rate"),
    path("t/<str:token>/photos/<int:photo_pk>/", views.track_photo, name="track_photo"),
    path("r/proposals/", proposals.proposals, name="proposals"),
    path("r/proposals/receipt/", proposals.receipt, name="proposal_receipt"),
    path("r/proposals/<int:pk>/", proposals.proposal, name="proposal"),
    path("r/proposals/<int:pk>/vote/", proposals.vote, name="proposal_vote"),
    path(
        "r/proposals/<int:pk>/attachments/<int:attachment_pk>/",
        proposals.attachment,
        name="proposal_attachment",
    ),
]
