from django.urls import path

from grids import views

app_name = "grids"

urlpatterns = [
    path("", views.area_root, name="area_root"),
    # Fixed words come before "<code>/": a node coded "search" or "children" would be hidden.
    path("search/", views.area_search, name="area_search"),
    path("children/", views.area_root_children, name="area_root_children"),
    path("<str:code>/children/", views.area_children_partial, name="area_children_partial"),
    path("<str:code>/board/", views.notice_board, name="notice_board"),
]
