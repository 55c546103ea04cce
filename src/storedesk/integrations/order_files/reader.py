"""Rows of an order file (CSV or XLSX), one at a time with the file's own line numbers.

Nothing here holds the whole file: CSV is read through `csv.reader`, XLSX through openpyxl's
read-only mode, so a 100,000-order export costs the memory of one row.
"""

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import PurePath
from typing import IO, Any

import openpyxl
from django.utils.translation import gettext as _

Row = dict[str, Any]


class OrderFileError(ValueError):
    """The file as a whole cannot be read (not CSV/XLSX, no header, missing columns)."""


def file_kind(name: str) -> str:
    suffix = PurePath(name or "").suffix.lower()
    if suffix in {".csv", ".txt", ""}:
        return "csv"
    if suffix in {".xlsx", ".xlsm"}:
        return "xlsx"
    raise OrderFileError(
        _("Only .csv and .xlsx files can be imported, not “%(suffix)s”.") % {"suffix": suffix}
    )


def read_rows(stream: IO[bytes], name: str) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    """The header and an iterator of (line number, {column: value}) for each non-empty row.

    Line 1 is the header; a CSV record spanning several lines (a quoted note with line breaks)
    is numbered by the line it starts on, as a spreadsheet shows it.
    """
    if file_kind(name) == "xlsx":
        return _xlsx_rows(stream)
    return _csv_rows(stream)


def _csv_rows(stream: IO[bytes]) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise OrderFileError(_("The file is empty.")) from None
    except UnicodeDecodeError:
        raise OrderFileError(_("The file is not UTF-8 text.")) from None
    except csv.Error as error:
        raise OrderFileError(_("Not a CSV file: %(error)s") % {"error": error}) from None
    if not any(header):
        raise OrderFileError(_("The first line holds no column names."))

    def rows() -> Iterator[tuple[int, Row]]:
        ended_at = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise OrderFileError(
                    _("Line %(line)d is not UTF-8 text.") % {"line": ended_at + 1}
                ) from None
            except csv.Error as error:
                raise OrderFileError(
                    _("Line %(line)d cannot be read: %(error)s")
                    % {"line": ended_at + 1, "error": error}
                ) from None
            started_at, ended_at = ended_at + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                yield started_at, dict(zip(header, cells, strict=False))

    return header, rows()


def _xlsx_rows(stream: IO[bytes]) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError, XML errors …
        raise OrderFileError(_("Not an .xlsx workbook: %(error)s") % {"error": error}) from None
    sheet = workbook["Orders"] if "Orders" in workbook.sheetnames else workbook.active
    values = sheet.iter_rows(values_only=True)
    try:
        header = [str(cell or "").strip() for cell in next(values)]
    except StopIteration:
        raise OrderFileError(_("The file is empty.")) from None

    def rows() -> Iterator[tuple[int, Row]]:
        for line, cells in enumerate(values, start=2):
            cleaned = [_xlsx_value(cell) for cell in cells]
            if any(cell != "" for cell in cleaned):
                yield line, dict(zip(header, cleaned, strict=False))
        workbook.close()

    return header, rows()


def _xlsx_value(cell):
    """Dates stay dates (the mapper localises them); numbers become exact text for Decimal."""
    if cell is None:
        return ""
    if isinstance(cell, datetime | date):
        return cell
    if isinstance(cell, float):
        return repr(cell) if cell != int(cell) else str(int(cell))
    return str(cell)
