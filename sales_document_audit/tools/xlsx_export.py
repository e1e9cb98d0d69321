"""Spreadsheet export of audit rows for external auditors."""

import io

import xlsxwriter


def build_workbook(headers, rows, sheet_name="Audit trail"):
    """Bytes of an XLSX file with one header row and ``rows`` below."""
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True, "strings_to_formulas": False})
    sheet = workbook.add_worksheet(sheet_name[:31])
    bold = workbook.add_format({"bold": True})
    for col, header in enumerate(headers):
        sheet.write(0, col, header, bold)
    for row_index, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            sheet.write(row_index, col, value if value not in (None, False) else "")
    sheet.freeze_panes(1, 0)
    workbook.close()
    return output.getvalue()
