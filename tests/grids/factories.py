"""factory_boy factories that go through the services, never straight to the ORM."""

import factory

from grids import services
from grids.models import Area, Person
from grids.rules import AreaKind


class AreaFactory(factory.Factory):
    """``AreaFactory(kind="grid", parent=community)``: made by ``services.area_create``."""

    class Meta:
        model = Area

    code = factory.Sequence(lambda n: f"F{n:05d}")
    name = factory.Sequence(lambda n: f"测试区域{n}")
    kind = AreaKind.COMMUNITY
    parent = None

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.area_create(**kwargs)


class PersonFactory(factory.Factory):
    """A head with a valid, unique mobile number, made by ``services.person_get_or_create``."""

    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"张{'伟芳娜敏静丽强磊军洋'[n % 10]}{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.person_get_or_create(**kwargs)
