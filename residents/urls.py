from django.urls import path

from residents import views

app_name = "residents"

urlpatterns = [
    path("", views.resident_list, name="resident_list"),
    path("export/", views.resident_export, name="resident_export"),
    path("find/", views.resident_find, name="resident_find"),
    path("import/", views.resident_import, name="resident_import"),
    path("<int:pk>/", views.resident_detail, name="resident_detail"),
    path("<int:pk>/edit/", views.resident_edit, name="resident_edit"),
    path("<int:pk>/reveal/<str:field>/", views.resident_reveal, name="resident_reveal"),
    path("households/", views.household_list, name="household_list"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", views.household_edit, name="household_edit"),
    path("households/<int:pk>/visits/new/", views.visit_create, name="visit_create"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage/<str:code>/unvisited/", views.households_unvisited, name="unvisited"),
]
