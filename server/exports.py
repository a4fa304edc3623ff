"""Tables to files staff open in Excel or WPS: CSV (UTF-8 with a BOM, so Chinese reads right) and XLSX.

A table is a list of rows (lists of str, numbers or None). Text that a spreadsheet would read as a
formula (starting with =, +, -, @) is written with a leading apostrophe, so a name typed by a user
can never run as one.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

Table = Sequence[Sequence[object]]
CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_bytes(tables: Mapping[str, Table]) -> bytes:
    """The tables one after another, each under a line with its title and followed by a blank line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for index, (title, rows) in enumerate(tables.items()):
        if index:
            writer.writerow([])
        writer.writerow([title])
        for row in rows:
            writer.writerow(["" if v is None else _cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(tables: Mapping[str, Table]) -> bytes:
    """A workbook with one sheet per table (titled by the key), the first row in bold."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in tables.items():
        sheet = book.create_sheet(title=title[:31])
        for row in rows:
            sheet.append([_cell(v) for v in row])
        for cell in sheet[1] if sheet.max_row else ():
            cell.font = Font(bold=True)
        for column in sheet.columns:
            width = max((len(str(c.value)) for c in column if c.value is not None), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(40, width + 4)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
