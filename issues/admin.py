"""Configuration of the problem workflow in the admin (categories, time limits, holidays,
API keys) and read-only views of tickets and their history. Tickets move only
through the portal's actions (the services), never by editing rows here."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets
from mptt.admin import MPTTModelAdmin

from core.admin import ReadOnlyAdminMixin, scrubbed
from core.admin_spreadsheets import SpreadsheetImportExportAdmin
from core.webhook import WebhookRefused, webhook_address_check, webhook_where
from grids.admin import PlaceColumnMixin
from issues import services
from issues.models import (
    ApiKey,
    Category,
    DepartmentTask,
    Holiday,
    Meeting,
    Notification,
    NotificationChannels,
    NotificationDelivery,
    ReturnVisit,
    Ticket,
    TicketAccess,
    TicketEvent,
    TicketSettings,
    TierPolicy,
)
from residents.admin import AccessLogAdmin
from residents.models import AccessLog


class HolidayResource(resources.ModelResource):
    """The State Council's holiday list, typed once a year into a spreadsheet."""

    # Typed widgets, so that a re-imported export compares equal and changes nothing.
    date = fields.Field(attribute="date", column_name="日期", widget=widgets.DateWidget("%Y-%m-%d"))
    name = fields.Field(attribute="name", column_name="名称")
    is_workday = fields.Field(
        attribute="is_workday", column_name="调休上班", widget=widgets.BooleanWidget()
    )

    class Meta:
        model = Holiday
        import_id_fields = ("date",)
        fields = ("date", "name", "is_workday")
        skip_unchanged = True
        report_skipped = True


@admin.register(Category)
class CategoryAdmin(MPTTModelAdmin):
    list_display = ("name", "code", "time_limit_days", "default_department", "active")
    list_filter = ("active",)
    search_fields = ("name", "code")
    list_select_related = ("default_department",)


@admin.register(TierPolicy)
class TierPolicyAdmin(admin.ModelAdmin):
    list_display = ("tier", "time_limit_days", "rectification_days")


@admin.register(TicketSettings)
class TicketSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "exclude_weekends", "hard_via_street", "rating_days")

    def has_add_permission(self, request):
        # The one row, added once, and by whoever may add it (staff without the permission
        # reached the form while no row existed).
        return super().has_add_permission(request) and not TicketSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Holiday)
class HolidayAdmin(SpreadsheetImportExportAdmin):
    resource_classes = [HolidayResource]
    list_display = ("date", "name", "is_workday")
    list_filter = ("is_workday",)
    date_hierarchy = "date"


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TicketEvent
    fields = (
        "at",
        "kind",
        "old_state",
        "new_state",
        "level",
        "handler_area",
        "actor",
        "scrubbed_note",
    )
    readonly_fields = fields
    scrubbed_note = scrubbed("note", _("note"))
    extra = 0
    ordering = ("at", "pk")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "handler_area")


class TaskInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DepartmentTask
    fields = ("meeting", "department", "deadline", "status", "scrubbed_report", "reported_at")
    readonly_fields = fields
    scrubbed_report = scrubbed("report", _("report"))
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("meeting", "department")


@admin.register(Ticket)
class TicketAdmin(PlaceColumnMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "category",
        "place",
        "state",
        "tier",
        "level",
        "deadline",
        "on_rectification_list",
        "created_at",
    )
    list_filter = ("state", "tier", "level", "channel", "on_rectification_list", "category")
    # A place's name at any level: the problem's own, its building's (above a unit), its
    # grid's and community's (ancestor keys).
    search_fields = (
        "=id",
        "description",
        "area__code",
        "area__name",
        "area__parent__name",
        "grid__name",
        "community__name",
    )
    date_hierarchy = "created_at"
    list_select_related = ("category", "area")
    list_per_page = 100
    show_full_result_count = False
    inlines = [TaskInline, EventInline]
    fields = (
        "area",
        "category",
        "channel",
        "scrubbed_description",
        "state",
        "tier",
        "level",
        "handler_area",
        "deadline",
        "on_rectification_list",
        "escalation_count",
        "reopen_count",
        "scrubbed_feedback",
        "rating",
        "scrubbed_rating_comment",
        "created_at",
        "resolved_at",
        "closed_at",
    )
    readonly_fields = fields
    # The admin shows free text as the pages do; the text as written: the ticket page's
    # logged reveal.
    scrubbed_description = scrubbed("description", _("description"))
    scrubbed_feedback = scrubbed("feedback", _("result told to the reporter"))
    scrubbed_rating_comment = scrubbed("rating_comment", _("rating comment"))


@admin.register(Meeting)
class MeetingAdmin(PlaceColumnMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("title", "held_on", "place", "created_by")
    list_select_related = ("area", "created_by")
    inlines = [TaskInline]


@admin.register(ReturnVisit)
class ReturnVisitAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ticket", "scheduled_for", "done_at", "by")
    list_select_related = ("ticket__category", "by")
    fields = ("ticket", "scheduled_for", "done_at", "scrubbed_note", "by")
    readonly_fields = fields
    scrubbed_note = scrubbed("note", _("what the reporter said"))


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "channel", "active")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """A new key is shown once, in the confirmation message; only its hash is kept."""

    form = ApiKeyForm
    list_display = ("name", "channel", "prefix", "active", "created_at")
    list_filter = ("channel", "active")

    def get_fields(self, request, obj=None):
        return ("name", "channel") if obj is None else ("name", "channel", "prefix", "active")

    def get_readonly_fields(self, request, obj=None):
        return ("channel", "prefix") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = services.api_key_create(name=obj.name, channel=obj.channel)
        obj.pk = key.pk
        messages.warning(
            request,
            _("The new key is %(key)s — copy it now: it is not shown again.") % {"key": raw},
        )


def _delivery_address(row) -> str:
    """A robot's webhook carries its key: only its scheme and host are shown."""
    if row.channel == NotificationDelivery.Channel.WEBHOOK:
        return webhook_where(row.address)
    return row.address


class NotificationDeliveryInline(admin.TabularInline):
    model = NotificationDelivery
    fields = ("channel", "shown_address", "sent_at", "attempts", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("address"))
    def shown_address(self, row):
        return _delivery_address(row)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("subject", "kind", "recipient", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    list_select_related = ("recipient",)
    inlines = [NotificationDeliveryInline]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("notification", "channel", "created_at", "sent_at", "attempts")
    list_filter = ("channel", ("sent_at", admin.EmptyFieldListFilter))
    list_select_related = ("notification",)
    fields = ("notification", "channel", "shown_address", "created_at", "sent_at", "claimed_at")
    fields += ("attempts", "last_error")
    readonly_fields = ("shown_address",)

    @admin.display(description=_("address"))
    def shown_address(self, row):
        return _delivery_address(row)


class NotificationChannelsForm(forms.ModelForm):
    webhook_url = forms.URLField(
        label=NotificationChannels._meta.get_field("webhook_url").verbose_name,
        help_text=NotificationChannels._meta.get_field("webhook_url").help_text,
        max_length=500,
        required=False,
        assume_scheme="https",
    )

    class Meta:
        model = NotificationChannels
        fields = ("user", "email", "sms", "webhook_url")

    def clean_webhook_url(self):
        """Only an https address whose host resolves to public addresses: the portal's
        workers post to it, and it must not reach inside their network
        (``core.webhook.webhook_address_check``; checked again at every send)."""
        url = self.cleaned_data["webhook_url"].strip()
        if not url:
            return url
        try:
            webhook_address_check(url)
        except WebhookRefused as refusal:
            raise forms.ValidationError(
                _webhook_refusal_text(refusal), code=refusal.reason
            ) from None
        return url


def _webhook_refusal_text(refusal: WebhookRefused):
    if refusal.reason == "scheme":
        return _("A robot webhook must be an https:// address.")
    if refusal.reason == "unresolvable":
        return _("The robot's host %(host)s cannot be found (it does not resolve).") % {
            "host": refusal.host
        }
    if refusal.reason == "private":
        return _(
            "The robot's host %(host)s resolves to %(address)s, an address inside a private "
            "network (loopback, private, link-local or reserved): the portal does not post there."
        ) % {"host": refusal.host, "address": refusal.address}
    return _("A robot webhook needs a host name.")


@admin.register(NotificationChannels)
class NotificationChannelsAdmin(admin.ModelAdmin):
    form = NotificationChannelsForm
    list_display = ("user", "email", "sms", "has_webhook")
    raw_id_fields = ("user",)
    search_fields = ("user__username", "user__person__name")

    @admin.display(boolean=True, description=_("robot webhook"))
    def has_webhook(self, row):
        return bool(row.webhook_url)


# The personal-data access log belongs to residents, which knows nothing of problems; this app
# adds the column saying which problem a look was for (``TicketAccess``), as an upper app
# extends a lower one's admin (the way projects re-register ``auth.User``).
admin.site.unregister(AccessLog)


@admin.register(AccessLog)
class AccessLogWithProblemAdmin(AccessLogAdmin):
    list_display = (*AccessLogAdmin.list_display, "problem")
    list_select_related = (*AccessLogAdmin.list_select_related, "ticket_link")
    readonly_fields = (*AccessLogAdmin.readonly_fields, "problem")
    search_fields = (*AccessLogAdmin.search_fields, "=ticket_link__ticket__id")

    @admin.display(description=_("problem"))
    def problem(self, log):
        try:
            ticket_id = log.ticket_link.ticket_id
        except TicketAccess.DoesNotExist:
            return "-"
        url = reverse("admin:issues_ticket_change", args=[ticket_id])
        return format_html('<a href="{}">#{}</a>', url, ticket_id)
