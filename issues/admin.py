from django.contrib import admin

from issues.models import Department


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")
    autocomplete_fields = ("handlers",)
