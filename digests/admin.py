"""Read-only views of the stored digests and their deliveries. Digests are built by the
scheduled task or by ``manage.py run_digest``; their schedule is edited under Periodic tasks
(django-celery-beat, task ``digests.tasks.run_due_digests``)."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin

from .models import Digest, DigestDelivery


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DigestDelivery
    fields = ("recipient", "email", "created_at", "sent_at", "attempts")
    readonly_fields = fields
    extra = 0


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("period_start", "period_end", "kind", "node", "created_at", "built_at")
    list_filter = ("kind",)
    date_hierarchy = "period_start"
    search_fields = ("node__name", "node__code")
    list_select_related = ("node",)
    fields = ("kind", "node", "period_start", "period_end", "created_at", "built_at", "text")
    readonly_fields = fields  # the text is rendered from the figures (Digest.mail)
    inlines = [DeliveryInline]


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("digest", "email", "recipient", "created_at", "sent_at", "attempts")
    list_filter = ("digest__kind", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("email", "recipient__username")
    list_select_related = ("digest", "recipient")
    fields = (
        "digest",
        "recipient",
        "email",
        "created_at",
        "sent_at",
        "claimed_at",
        "attempts",
        "last_error",
    )
    readonly_fields = fields
