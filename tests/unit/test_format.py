"""The presentation kit: one number format, one markdown table, one arrow per direction."""

from __future__ import annotations

import math

import pytest

from cptbench.core.matrix import Direction
from cptbench.publish.format import ARROW, DASH, arrow, markdown_table, number, row_labels


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf])
def test_number_undefined_is_a_dash(value):
    assert number(value) == DASH == "—"
    assert number(value, 5, signed=True) == DASH


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (1.23456, {}, "1.2346"),
        (-0.1, {}, "-0.1000"),
        (312.25, {"digits": 1}, "312.2"),
        (381.02, {"digits": 0}, "381"),
        (3, {}, "3.0000"),
        (-0.00001, {}, "0.0000"),  # rounds to zero: no "-0.0000"
        (-0.00001, {"zero_sign": True}, "-0.0000"),  # compare keeps Python's sign
        (0.01, {"digits": 5, "signed": True}, "+0.01000"),
        (-0.01, {"digits": 5, "signed": True}, "-0.01000"),
        (0.0, {"digits": 5, "signed": True}, "0.00000"),  # regress: an unchanged value is unsigned
        (-1e-9, {"digits": 5, "signed": True}, "0.00000"),
        (0.0, {"signed": True, "zero_sign": True}, "+0.0000"),  # compare's deltas
    ],
)
def test_number(value, kwargs, expected):
    assert number(value, **kwargs) == expected


def test_markdown_table_escapes_pipes_and_ends_with_a_newline():
    table = markdown_table(["a", "b|c"], [["x | y", 1], ["z", None]])
    assert table == "| a | b\\|c |\n|---|---|\n| x \\| y | 1 |\n| z | None |\n"


def test_markdown_table_without_rows():
    assert markdown_table(["a"], []) == "| a |\n|---|\n"


def test_arrows():
    assert ARROW == {Direction.HIGHER: "↑", Direction.LOWER: "↓"}
    assert ARROW[Direction("lower")] == "↓"
    assert (arrow(True), arrow(False)) == ("↑", "↓")


def test_row_labels():
    assert row_labels(["politics", "science"]) == ["base", "after politics", "after science"]
