"""A dashboard table: the numbers behind a chart, rendered as HTML, CSV and XLSX from one object."""
from dataclasses import dataclass, field

from app.core.spreadsheets import csv_bytes, xlsx_bytes


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


def to_csv(table: Table) -> bytes:
    rows = [[str(c) for c in table.columns], *table.rows]
    if table.note:
        rows += [[], [str(table.note)]]
    return csv_bytes(rows)


def to_xlsx(table: Table) -> bytes:
    rows = [[str(table.title)], [str(c) for c in table.columns],
            *([v if isinstance(v, (int, float)) or v is None else str(v) for v in row] for row in table.rows)]
    if table.note:
        rows += [[], [str(table.note)]]
    return xlsx_bytes(table.key or "data", rows)
