"""A dashboard table: the numbers behind a chart, rendered as HTML, CSV and XLSX from one object."""
import csv
import io
from dataclasses import dataclass, field

from openpyxl import Workbook


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


def _plain(value):
    return "" if value is None else value


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM so that Excel on a school PC opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([_plain(v) for v in row])
    if table.note:
        writer.writerow([])
        writer.writerow([str(table.note)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = (table.key or "data")[:31]
    sheet.append([str(table.title)])
    sheet.append([str(c) for c in table.columns])
    for row in table.rows:
        sheet.append([_plain(v) if isinstance(v, (int, float)) or v is None else str(v) for v in row])
    if table.note:
        sheet.append([])
        sheet.append([str(table.note)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
