"""The checks the other tests lean on must themselves be able to fail."""

import pytest

from core.spreadsheets import read_table
from grids.models import Area

from .helpers import csv_file, tree_errors, xlsx_file


def test_a_tree_built_through_the_services_is_sound(county, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert tree_errors() == []


def test_tree_errors_takes_one_query_whatever_the_size(county, django_assert_num_queries):
    # The county has 25 nodes; the check must not look anything up per node or per tree.
    assert Area.objects.count() == 25
    with django_assert_num_queries(1):
        tree_errors()


# Each corruption is written straight to the table on purpose: the services would refuse it.
CORRUPTIONS = {
    "lft off by one": ("U1", lambda a: {"lft": a.lft + 1}),
    "rght beyond the parent": ("B3", lambda a: {"rght": a.rght + 100}),
    "wrong level": ("G1", lambda a: {"level": a.level + 1}),
    "root with a level": ("D2", lambda a: {"level": 1}),
    "parent in another tree": ("G6", lambda a: {"parent": Area.objects.get(code="CM1")}),
    "district whose upper is a town": ("D3", lambda a: {"upper": Area.objects.get(code="T2")}),
    "node moved out of its tree": ("CM3", lambda a: {"tree_id": a.tree_id + 1000}),
    "parent not the enclosing node": ("B2", lambda a: {"parent": Area.objects.get(code="G2")}),
}


@pytest.mark.parametrize("what", CORRUPTIONS)
def test_tree_errors_reports_each_corruption(county, what):
    code, change = CORRUPTIONS[what]
    area = Area.objects.get(code=code)
    Area.objects.filter(pk=area.pk).update(**change(area))

    errors = tree_errors()

    assert errors, what
    assert any(code in e for e in errors), errors


def test_tree_errors_reports_overlapping_siblings(county):
    # [lft, rght] values stay exactly 1..2n but U1 and U2 overlap instead of nesting.
    u1, u2 = Area.objects.get(code="U1"), Area.objects.get(code="U2")
    Area.objects.filter(pk=u1.pk).update(rght=u2.lft)
    Area.objects.filter(pk=u2.pk).update(lft=u1.rght)

    assert any("overlaps" in e for e in tree_errors())


def test_tree_errors_reports_a_non_root_kind_as_root(county):
    Area.objects.filter(code="CM1").update(parent=None, level=0)

    assert any("CM1" in e for e in tree_errors())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_file_writes_the_encoding_asked_for(tmp_path, encoding):
    path = csv_file(tmp_path, ["编码", "名称"], [["A1", "莲心社区"]], encoding=encoding)

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    assert raw.decode(encoding).lstrip("\ufeff").splitlines() == ["编码,名称", "A1,莲心社区"]
    assert read_table(path).encoding == encoding


def test_xlsx_file_keeps_numbers_as_numbers(tmp_path):
    path = xlsx_file(tmp_path, ["编码", "户数"], [["A1", 12]])

    table = read_table(path)
    assert table.fmt == "xlsx"
    assert table.headers == ["编码", "户数"]
    assert table.rows == [(2, ["A1", "12"])]
