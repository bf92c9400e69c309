"""CSV and XLSX exports: formula-looking cells are neutralised, numbers stay numbers."""
import io
from decimal import Decimal

from openpyxl import load_workbook

from rmportal.exports import csv_response, safe_cell, xlsx_response


def test_csv_cells_starting_like_a_formula_are_escaped():
    assert [safe_cell(v) for v in ["=1+1", "+86", "-x", "@sum", "plain", Decimal("-5.00"), None]] == \
        ["'=1+1", "'+86", "'-x", "'@sum", "plain", "-5.00", ""]


def test_csv_response_streams_a_bom_header_and_rows():
    response = csv_response("t", ["name", "amount"], [["=cmd", Decimal("1.50")]])
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffname,amount")
    assert "'=cmd,1.50" in body


def test_xlsx_keeps_formula_text_as_text_and_decimals_as_numbers():
    response = xlsx_response("t", ["name", "amount"], [["=cmd", Decimal("1.50")]])
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("name", "amount")
    assert rows[1][0] == "=cmd" and sheet.cell(2, 1).data_type == "s"
    assert rows[1][1] == 1.5
