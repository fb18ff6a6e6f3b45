"""Which library writes tierpay's workbooks: XlsxWriter against openpyxl on a decisions CSV (issue 16).

    python benchmarks/generate.py 100000 /tmp/records.csv
    tierpay evaluate benchmarks/ruleset.yaml /tmp/records.csv --allow-outside-files --format csv -o /tmp/decisions.csv
    python benchmarks/xlsx_writers.py /tmp/decisions.csv

Each writer runs in a child process of its own, which reads the CSV into lists of text and writes
every cell as tierpay types it (money as numbers shown ``#,##0.00``, scores as numbers, the rest
text) into an in-memory ``.xlsx``; the seconds are the writing alone, the peak its maximum
resident set (the CSV's rows included, measured apart as ``rows read``).
"""

from __future__ import annotations

import csv
import io
import resource
import subprocess
import sys
import time

WRITERS = ("rows read", "xlsxwriter constant_memory", "xlsxwriter in_memory", "openpyxl write_only")
NUMBERS = {"score", "coefficient", "review_rank", "review_cohort_size", "review_percentile"}


def write(which: str, path: str) -> tuple[float, int]:
    """Seconds to write the workbook with ``which``, and the process's peak memory in MiB."""
    with open(path, newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    money = {i for i, c in enumerate(header) if c.startswith("pay_") and c != "pay_level"}
    numbers = {i for i, c in enumerate(header) if c in NUMBERS}
    start = time.perf_counter()
    out = io.BytesIO()
    if which.startswith("xlsxwriter"):
        import xlsxwriter

        options = {"constant_memory": True} if which.endswith("constant_memory") else {"in_memory": True}
        book = xlsxwriter.Workbook(out, options)
        shown = book.add_format({"num_format": "#,##0.00"})
        sheet = book.add_worksheet("decisions")
        sheet.write_row(0, 0, header)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row):
                if value == "":
                    continue
                if c in money:
                    sheet.write_number(r, c, float(value), shown)
                elif c in numbers:
                    sheet.write_number(r, c, float(value))
                else:
                    sheet.write_string(r, c, value)
        book.close()
    elif which.startswith("openpyxl"):
        import openpyxl
        from openpyxl.cell import WriteOnlyCell

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("decisions")
        sheet.append(header)
        for row in rows:
            cells: list[object] = []
            for c, value in enumerate(row):
                if value == "":
                    cells.append(None)
                elif c in money:
                    cell = WriteOnlyCell(sheet, value=float(value))
                    cell.number_format = "#,##0.00"
                    cells.append(cell)
                elif c in numbers:
                    cells.append(float(value))
                else:
                    cells.append(value)
            sheet.append(cells)
        book.save(out)
    took = time.perf_counter() - start
    return took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    if len(sys.argv) == 3:  # a child: one writer
        took, peak = write(sys.argv[2], sys.argv[1])
        print(f"{took:.1f} {peak}")
        return
    print("| writer | seconds | peak MiB |\n| --- | ---: | ---: |")
    for which in WRITERS:
        done = subprocess.run(
            [sys.executable, __file__, sys.argv[1], which], capture_output=True, text=True, check=True
        )
        took, peak = done.stdout.split()
        print(f"| {which} | {'-' if which == 'rows read' else took} | {peak} |")


if __name__ == "__main__":
    main()
