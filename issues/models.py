from django.db import models
from django.utils.translation import gettext_lazy as _

from grids.models import Person


class Department(models.Model):
    """A functional department (职能部门: housing, water, police …) that takes assigned
    problems. Its handlers see only what is assigned to it."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    handlers = models.ManyToManyField(
        Person, verbose_name=_("handlers"), blank=True, related_name="departments"
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
