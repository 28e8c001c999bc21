"""Custom lookups (registered in ``grids.apps.GridsConfig.ready``)."""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.models import Lookup


class AnyOf(Lookup):
    """``field__any=values``: ``field = ANY(%s)`` with the whole list as ONE array parameter.

    PostgreSQL only. ``__in`` writes one placeholder per value, which Django and the driver
    then quote and join one by one: for 100,000 codes that costs ten times the query itself.
    One array parameter keeps the statement the same size whatever the list, so it needs no
    chunking either. Other databases keep using ``__in`` in chunks.
    """

    lookup_name = "any"

    def get_prep_lookup(self):
        # Prepare each value as the field would (the base class would str() the whole list).
        prep = self.lhs.output_field.get_prep_value
        return [prep(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            raise NotSupportedError("the __any lookup needs PostgreSQL; use __in elsewhere")
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]
