"""Cells and names that leave the portal cannot act as formulas or break a message line."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from escort_portal.exports import message_text, spreadsheet_cell
from lenders import upload
from lenders.tests.factories import AgentFactory, BranchFactory
from notifications import catalogue
from notifications.tests.samples import SAMPLES


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_starting_like_a_formula_is_written_as_text(start):
    assert spreadsheet_cell(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"


@pytest.mark.parametrize("value", ["+91 98300 12345", "-5", "Rahul Das", "", 12])
def test_plain_numbers_and_names_are_left_alone(value):
    assert spreadsheet_cell(value) == value


@pytest.mark.django_db
def test_the_upload_template_lists_formula_like_agent_names_as_text(in_debra):
    branch = BranchFactory()
    AgentFactory(branch=branch, name='=HYPERLINK("http://evil.example/","x")')
    workbook = load_workbook(io.BytesIO(upload.template_xlsx(branch=branch)))
    cell = workbook["Lists"]["A2"]
    assert cell.data_type == "s"
    assert cell.value == """'=HYPERLINK("http://evil.example/","x")"""


def test_names_in_subjects_and_sms_are_one_short_line_of_plain_text():
    name = "Bandhan\r\nBcc: all@example.com\u202e\x07" + "x" * 200
    rendered = catalogue.render(
        "branch_approved", "en", {**SAMPLES["branch_approved"], "branch": name}
    )
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert "\u202e" not in rendered.subject and "\x07" not in rendered.subject
    assert len(rendered.subject) < 120
    assert not any(ch in rendered.sms for ch in "\r\n\x07\u202e")
    assert "x" * 31 not in rendered.sms
    assert message_text("a\tb\nc") == "a b c"
    assert message_text("x" * 100, limit=10) == "x" * 9 + "…"
