from django.urls import path

from digests import best_heads, views

app_name = "digests"

urlpatterns = [
    path("", views.digest_list, name="digest_list"),
    path("best-heads/", best_heads.best_heads_page, name="best_heads"),
    path("<int:pk>/", views.digest_detail, name="digest_detail"),
    path("<int:pk>/export.xlsx", views.digest_export, name="digest_export"),
]
