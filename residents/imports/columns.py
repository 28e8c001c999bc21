"""The resident spreadsheet's vocabulary: its columns and the words its cells may use."""

from __future__ import annotations

import re

from core.spreadsheets import Column

RESIDENT_COLUMNS = (
    Column("area_code", "区域编码", ("单元编码", "areacode", "area"), digits=Column.CODE),
    Column("door", "房号", ("门牌号", "室号", "door")),
    Column("address", "地址", ("住址", "address"), required=False),
    Column(
        "in_online_group", "户在群", ("入群", "在群", "ingroup", "inonlinegroup"), required=False
    ),
    Column("name", "姓名", ("name",)),
    Column("gender", "性别", ("gender", "sex"), required=False),
    Column("birth_date", "出生日期", ("birthdate", "birthday"), required=False),
    Column(
        "id_number",
        "身份证号",
        ("身份证号码", "公民身份号码", "idnumber", "id"),
        digits=Column.CODE,
    ),
    Column(
        "phone",
        "手机",
        ("手机号", "联系电话", "phone", "mobile"),
        required=False,
        digits=Column.PHONE,
    ),
    Column("is_householder", "户主", ("是否户主", "householder", "ishouseholder"), required=False),
    Column("care_tags", "关怀标签", ("标签", "caretags", "tags"), required=False),
)
# Written by the export after the others, for people: the place as its path
# (``莲心社区 › 1栋 › 2单元``) where the area code says nothing to them. An import takes the
# column and does not read it (the code is what places a household).
PLACE_COLUMN = Column("place", "地点", ("所在地点", "位置"), required=False)
RESIDENT_EXPORT_COLUMNS = (*RESIDENT_COLUMNS, PLACE_COLUMN)
GENDERS = {"男": "M", "m": "M", "male": "M", "女": "F", "f": "F", "female": "F"}
TAG_SPLIT = re.compile(r"[、,，;；/\s]+")
FLAG_COLUMNS = ("in_online_group", "is_householder")
