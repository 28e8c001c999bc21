from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.managers import TreeManager
from mptt.models import MPTTModel, TreeForeignKey

from core import audit
from grids import rules
from grids.rules import AreaKind, GridType, PartyOrgKind, PostTitle
from grids.validators import validate_area_code, validate_phone


class AreaTreeManager(TreeManager):
    """django-mptt's manager, with a move inside one tree (a street) bounded to the rows it
    changes.

    mptt writes that move as one ``UPDATE … SET lft = CASE … WHERE tree_id = %s``: every
    row of the street gets a new version in every index of the table, those the move does
    not change included. Only the rows with ``lft`` or ``rght`` between the two places
    change, so the statement is narrowed to them. Moving a building to the next grid then
    rewrites its own rows and those between, a few dozen, not the street's 3,000–12,000.
    The statement is mptt's own; this adds its missing condition and nothing else. If mptt
    ever writes it differently, the statement is run as mptt wrote it (still right, only
    unbounded), and ``tests/grids/test_services.py`` fails on the rows it rewrites."""

    def _move_child_within_tree(self, node, target, position):
        # The connection mptt writes the statement on (the database for writes).
        with self._get_connection(instance=node).execute_wrapper(_bounded_to_the_move):
            super()._move_child_within_tree(node, target, position)


# The end of mptt's move statement, and where its parameters hold the span of the move
# (``TreeManager._move_child_within_tree``: left_boundary, right_boundary).
_MOVE_TAIL = 'WHERE "tree_id" = %s'
_MOVE_PARAMS = 16
_SPAN = slice(6, 8)


def _bounded_to_the_move(execute, sql, params, many, context):
    if sql.rstrip().endswith(_MOVE_TAIL) and len(params) == _MOVE_PARAMS:
        low, high = params[_SPAN]
        sql = f'{sql} AND ("lft" BETWEEN %s AND %s OR "rght" BETWEEN %s AND %s)'
        params = [*params, low, high, low, high]
    return execute(sql, params, many, context)


@audit.track(exclude=["lft", "rght", "tree_id", "level", "updated_at"])
class Area(MPTTModel):
    """One node of the area tree: city, district, street … building, unit.

    Nested-set numbering is kept per street/town (``rules.TREE_ROOT_KINDS``): a street is
    the root of its own MPTT tree and points at its district through ``upper``, as a
    district points at its city. Adding or moving a node therefore renumbers at most one
    street (two when it moves across), never its district or the city.
    """

    # Unique through Meta.constraints, not unique=True: on PostgreSQL the field option also
    # builds a second (varchar_pattern_ops) index for LIKE 'x%', which no query here uses.
    code = models.CharField(_("unified code"), max_length=32, validators=[validate_area_code])
    name = models.CharField(_("name"), max_length=100)
    # No index of its own: each index is written again for every row a renumbering shifts,
    # and the queries on kind either narrow by tree too (area_tree_lft) or list the grids
    # of the whole city, where a scan costs ~25 ms more than the index on 300k rows.
    kind = models.CharField(_("kind"), max_length=16, choices=AreaKind.choices)
    grid_type = models.CharField(
        _("grid type"), max_length=16, choices=GridType.choices, blank=True, default=""
    )
    households = models.PositiveIntegerField(_("households (estimated)"), default=0)
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    upper = models.ForeignKey(
        "self",
        verbose_name=_("city above"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lower_roots",
        help_text=_("For a district/county: the city it belongs to."),
        # Indexed by area_upper below, on the few roots that have one only: a full index
        # takes a new entry for every row a renumbering rewrites, all of them NULL here.
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    # The nested-set fields, declared here so that django-mptt uses them instead of adding
    # its own (which index tree_id alone). The composite area_tree_lft below serves every
    # tree query; a single-column index more would only slow down each renumbering, which
    # rewrites every row to the right of the change.
    lft = models.PositiveIntegerField(editable=False)
    rght = models.PositiveIntegerField(editable=False)
    tree_id = models.PositiveIntegerField(editable=False)
    level = models.PositiveIntegerField(editable=False)

    objects = AreaTreeManager()

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        indexes = [
            models.Index(fields=["tree_id", "lft"], name="area_tree_lft"),
            models.Index(fields=["upper"], name="area_upper", condition=Q(upper__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="area_code_unique"),
            models.CheckConstraint(
                condition=(Q(kind=AreaKind.GRID) & ~Q(grid_type=""))
                | (~Q(kind=AreaKind.GRID) & Q(grid_type="")),
                name="area_grid_type_only_on_grids",
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | Q(upper__isnull=True),
                name="area_parent_or_upper",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def logical_parent_id(self) -> int | None:
        return self.parent_id or self.upper_id

    def clean(self) -> None:
        errors = {}
        if self.kind == AreaKind.GRID and not self.grid_type:
            errors["grid_type"] = _("a grid is either basic or dedicated")
        if self.kind != AreaKind.GRID and self.grid_type:
            errors["grid_type"] = _("only grids have a grid type")
        if errors:
            raise ValidationError(errors)


def _key(verbose_name):
    return models.ForeignKey(
        Area,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


class AncestorKeys(models.Model):
    """Ancestor keys (``rules.ANCESTOR_KEYS``) for a row placed at an ``area``: the ids of
    the district, street, community and grid above it, set when the row is made
    (``selectors.area_keys``) and kept right when a node moves (``signals.areas_moved``).
    Scopes, dashboards and the tree browser filter and group on them through an index
    instead of joining the rows to the whole city's tree. No FK constraint: the place
    itself is protected through ``area``, and these are copies of its ancestors."""

    district = _key(_("district"))
    street = _key(_("street/town"))
    community = _key(_("community/village"))
    grid = _key(_("grid"))

    class Meta:
        abstract = True


@audit.track()
class Person(models.Model):
    """Someone who holds posts: a head, an officer, a worker. A login belongs to a person."""

    name = models.CharField(_("full name"), max_length=50)
    phone = models.CharField(
        _("phone"), max_length=20, blank=True, default="", validators=[validate_phone]
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    # Set when the portal gave the login a one-time password (the heads import); cleared
    # when its holder sets their own. Until then they may only change it or sign out.
    password_change_required = models.BooleanField(
        _("must change password at next sign-in"), default=False
    )
    # When that one-time password was given: it signs in for ONE_TIME_PASSWORD_DAYS only,
    # so one that sat unread in an SMS inbox for a month no longer opens the login.
    password_issued_at = models.DateTimeField(
        _("one-time password given at"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(
                fields=["phone"], condition=~Q(phone=""), name="person_phone_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


@audit.track()
class Department(models.Model):
    """A functional department (职能部门: housing, water, police …) that takes assigned
    problems. Its handlers see only what is assigned to it."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    email = models.EmailField(_("e-mail"), blank=True, default="")
    handlers = models.ManyToManyField(
        Person,
        verbose_name=_("handlers"),
        blank=True,
        related_name="departments",
        # The tables keep the names they had while departments lived in ``issues``.
        db_table="issues_department_handlers",
    )

    class Meta:
        db_table = "issues_department"
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


# Who handles a department's problems sees them: who was made a handler, and by whom, is kept.
audit.track(
    model_name="DepartmentHandlerHistory",
    app_label="grids",
    verbose_name=_("a department's handlers"),
)(Department.handlers.through)


@audit.track()
class Post(models.Model):
    """A person holding a titled post on a node, from ``started_on`` to ``ended_on``.

    Posts are never deleted: ending one sets ``ended_on``, so who held what when is kept.
    """

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="posts"
    )
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="posts"
    )
    title = models.CharField(_("title"), max_length=32, choices=PostTitle.choices)
    is_deputy = models.BooleanField(_("deputy"), default=False)
    is_public = models.BooleanField(
        _("on the notice board"),
        default=True,
        help_text=_("Show name and phone on the public notice board (便民公示牌)."),
    )
    started_on = models.DateField(_("started"), default=timezone.localdate)
    ended_on = models.DateField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        indexes = [models.Index(fields=["area", "title"], name="post_area_title")]
        constraints = [
            models.UniqueConstraint(
                fields=["area", "title"],
                condition=Q(ended_on__isnull=True, is_deputy=False),
                name="post_one_current_principal",
                violation_error_message=_("this post already has a current holder"),
            ),
            models.UniqueConstraint(
                fields=["person", "area", "title"],
                condition=Q(ended_on__isnull=True),
                name="post_person_once",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="post_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area.name} {self.get_title_display()} {self.person.name}"

    def clean(self) -> None:
        if self.area_id and self.title:
            message = rules.title_kind_error(self.title, self.area.kind)
            if message:
                raise ValidationError({"title": message})


class PartyOrg(MPTTModel):
    """A Party body, in a tree parallel to the areas: 党工委 → 社区党组织 → 网格党支部 → 党小组."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=32, choices=PartyOrgKind.choices)
    area = models.OneToOneField(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="party_org"
    )
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    secretary = models.ForeignKey(
        Person,
        verbose_name=_("secretary"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="party_orgs_led",
    )

    class Meta:
        verbose_name = _("Party organisation")
        verbose_name_plural = _("Party organisations")

    def __str__(self) -> str:
        return self.name


class ImportRun(models.Model):
    """One spreadsheet import that was written (dry runs write nothing). Append-only."""

    class Target(models.TextChoices):
        AREAS = "areas", _("areas")
        HEADS = "heads", _("heads")
        RESIDENTS = "residents", _("residents")

    target = models.CharField(_("what"), max_length=16, choices=Target.choices)
    source = models.CharField(_("file"), max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rows = models.PositiveIntegerField(_("rows"))
    created = models.PositiveIntegerField(_("new rows"))
    updated = models.PositiveIntegerField(_("changed rows"))
    unchanged = models.PositiveIntegerField(_("unchanged rows"))
    seconds = models.FloatField(_("seconds"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_target_display()} {self.source} {self.at:%Y-%m-%d %H:%M}"
