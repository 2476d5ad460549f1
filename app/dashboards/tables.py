"""A dashboard table: the numbers behind a chart, rendered as HTML, CSV and XLSX from one object."""
from dataclasses import dataclass, field

from app.core.spreadsheets import csv_bytes, csv_stream, xlsx_bytes, xlsx_stream


@dataclass
class Table:
    key: str                      # stable name used in export URLs
    title: str
    columns: list
    rows: list = field(default_factory=list)   # cells are already suppressed
    links: dict = field(default_factory=dict)  # (row, col) -> drill-down query args
    note: str = ""

    def add(self, row, links=None):
        self.rows.append(list(row))
        for col, args in (links or {}).items():
            if args is not None:
                self.links[(len(self.rows) - 1, col)] = args

    def link(self, r, c):
        return self.links.get((r, c))


def _csv_rows(table):
    rows = [[str(c) for c in table.columns], *table.rows]
    if table.note:
        rows += [[], [str(table.note)]]
    return rows


def _xlsx_rows(table):
    rows = [[str(table.title)], [str(c) for c in table.columns],
            *([v if isinstance(v, (int, float)) or v is None else str(v) for v in row] for row in table.rows)]
    if table.note:
        rows += [[], [str(table.note)]]
    return rows


def to_csv(table: Table) -> bytes:
    return csv_bytes(_csv_rows(table))


def to_xlsx(table: Table) -> bytes:
    return xlsx_bytes(table.key or "data", _xlsx_rows(table))


def stream(table: Table, fmt: str):
    """The table as chunks of bytes for a streamed download (app/core/spreadsheets.py keeps it formula-safe)."""
    if fmt == "csv":
        return csv_stream(_csv_rows(table))
    return xlsx_stream(table.key or "data", _xlsx_rows(table))
