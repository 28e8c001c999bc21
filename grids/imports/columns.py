"""The spreadsheet vocabulary of areas and heads: the columns, and the names a cell may use
for a kind, a grid type or a title. Import and export read the same tables."""

from __future__ import annotations

from core.spreadsheets import Column
from grids.rules import AreaKind, GridType, PostTitle

# Names a spreadsheet may use for each kind; the first is what we write on export.
KIND_NAMES: dict[str, tuple[str, ...]] = {
    AreaKind.CITY: ("市", "地级市", "city"),
    AreaKind.DISTRICT: ("区县", "区", "县", "区/县", "县级市", "市辖区", "district", "county"),
    AreaKind.STREET: ("街道", "街道办", "street"),
    AreaKind.TOWN: ("乡镇", "镇", "乡", "town"),
    AreaKind.COMMUNITY: ("社区", "居委会", "community"),
    AreaKind.VILLAGE: ("村", "行政村", "村委会", "village"),
    AreaKind.COMPOUND: ("小区/片区", "小区", "片区", "compound", "zone"),
    AreaKind.GRID: ("网格", "grid"),
    AreaKind.BUILDING: ("楼栋", "楼", "栋", "building"),
    AreaKind.UNIT: ("单元", "unit"),
}
GRID_TYPE_NAMES: dict[str, tuple[str, ...]] = {
    GridType.BASIC: ("基础网格", "基础", "basic"),
    GridType.DEDICATED: ("专属网格", "专属", "dedicated"),
}
TITLE_NAMES: dict[str, tuple[str, ...]] = {
    PostTitle.REGION_HEAD: ("大区长", "region_head"),
    PostTitle.ZONE_HEAD: ("片区长", "zone_head"),
    PostTitle.COMMUNITY_SECRETARY: (
        "社区书记",
        "社区党组织书记",
        "村党组织书记",
        "community_secretary",
    ),
    PostTitle.COMMUNITY_WORKER: ("社区工作者", "community_worker"),
    PostTitle.STREET_OFFICER: ("街道干部", "乡镇干部", "street_officer"),
    PostTitle.COUNTY_OFFICER: ("县三长办", "三长办干部", "county_officer"),
    PostTitle.GRID_HEAD: ("网格长", "grid_head"),
    PostTitle.GRID_WORKER: ("网格员", "专职网格员", "grid_worker"),
    PostTitle.BUILDING_HEAD: ("楼栋长", "楼长", "building_head"),
    PostTitle.UNIT_HEAD: ("单元长", "unit_head"),
}


def _lookup(names: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {alias.lower(): value for value, aliases in names.items() for alias in aliases}


KIND_LOOKUP = _lookup(KIND_NAMES)
GRID_TYPE_LOOKUP = _lookup(GRID_TYPE_NAMES)
TITLE_LOOKUP = _lookup(TITLE_NAMES)

AREA_COLUMNS = (
    Column("code", "编码", ("统一编码", "区域编码", "编号"), digits=Column.CODE),
    Column("name", "名称", ("区域名称",)),
    Column("kind", "类型", ("层级", "级别", "type")),
    Column(
        "parent_code",
        "上级编码",
        ("父级编码", "上级区域编码", "parent", "parentcode"),
        digits=Column.CODE,
    ),
    Column("grid_type", "网格类型", ("gridtype",), required=False),
    Column("households", "户数", ("估算户数", "住户数"), required=False),
)
HEAD_COLUMNS = (
    Column("area_code", "区域编码", ("编码", "areacode", "area"), digits=Column.CODE),
    Column("area_name", "区域名称", ("areaname",), required=False),  # for people; not read
    Column("title", "职务", ("岗位", "title")),
    Column("name", "姓名", ("name",)),
    Column("phone", "手机", ("手机号", "电话", "联系电话", "phone", "mobile"), digits=Column.PHONE),
    Column("public", "公示", ("是否公示", "public", "ispublic"), required=False),
    Column("deputy", "副职", ("是否副职", "deputy", "isdeputy"), required=False),
    Column("started_on", "任职日期", ("开始日期", "startedon", "since"), required=False),
)
