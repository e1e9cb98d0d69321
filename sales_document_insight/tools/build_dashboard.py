"""Write the "Sales documents" spreadsheet dashboard (Odoo 18 spreadsheet JSON).

Run from the repository root after changing a section:

    python3 sales_document_insight/tools/build_dashboard.py

Each section is a title linking to the records behind it, then the rows of an
Odoo pivot (``PIVOT.HEADER`` / ``PIVOT.VALUE`` cells: a click opens the records
of that cell) or list. Three global filters (period, team, salesperson) apply
to every section whose model has the matching field.
"""

import json
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "data" / "files" / "sales_documents_dashboard.json"

FILTER_PERIOD = "5d0b5f6e-4a1c-4a8e-9a37-0d4f1b7a1001"
FILTER_TEAM = "5d0b5f6e-4a1c-4a8e-9a37-0d4f1b7a1002"
FILTER_USER = "5d0b5f6e-4a1c-4a8e-9a37-0d4f1b7a1003"

GLOBAL_FILTERS = [
    {"id": FILTER_PERIOD, "type": "date", "label": "Period", "defaultValue": "last_year", "rangeType": "relative"},
    {"id": FILTER_TEAM, "type": "relation", "label": "Sales Team", "modelName": "crm.team",
     "defaultValue": [], "defaultValueDisplayNames": []},
    {"id": FILTER_USER, "type": "relation", "label": "Salesperson", "modelName": "res.users",
     "defaultValue": [], "defaultValueDisplayNames": []},
]

# Sections: (title, pivot or list definition, rows shown). ``date``, ``team``
# and ``user`` name the fields the global filters apply to.
PIVOTS = [
    {
        "title": "Pipeline by document type", "model": "sales.document",
        "domain": [["state", "!=", "cancelled"]], "row": "doc_type", "label": "Document type",
        "measures": ["__count", "amount_total"], "date": ("date", "date"), "team": "team_id", "user": "user_id",
    },
    {
        "title": "Pipeline by stage", "model": "sales.document",
        "domain": [["doc_type", "=", "order"]], "row": "state", "label": "Status",
        "measures": ["__count", "amount_total"], "date": ("date", "date"), "team": "team_id", "user": "user_id",
    },
    {
        "title": "Cycle times per stage (days)", "model": "sales.document.cycle.time",
        "domain": [], "row": "team_id", "label": "Sales Team",
        "measures": ["approval_days", "order_to_delivery_days", "delivery_to_invoice_days",
                     "invoice_to_paid_days", "total_days"],
        "date": ("date", "datetime"), "team": "team_id", "user": "user_id",
    },
    {
        "title": "Reconciliation", "model": "sale.order",
        "domain": [["state", "=", "sale"]], "row": "recon_state", "label": "Reconciliation",
        "measures": ["__count", "amount_total"], "date": ("date_order", "datetime"), "team": "team_id",
        "user": "user_id",
    },
    {
        "title": "Likely duplicates", "model": "sale.order",
        "domain": [["is_possible_duplicate", "=", True]], "row": "user_id", "label": "Salesperson",
        "measures": ["__count", "amount_total"], "date": ("date_order", "datetime"), "team": "team_id",
        "user": "user_id",
    },
    {
        "title": "Overdue hand-offs", "model": "sale.order",
        "domain": [["sd_handoff_overdue", "=", True]], "row": "user_id", "label": "Salesperson",
        "measures": ["__count", "amount_total"], "date": ("date_order", "datetime"), "team": "team_id",
        "user": "user_id",
    },
    {
        "title": "Targets and their pace", "model": "sales.target",
        "domain": [], "row": "user_id", "label": "Salesperson",
        "measures": ["amount_target", "amount_achieved", "forecast_amount", "progress", "pace_expected"],
        "date": ("date_from", "date"), "team": "team_id", "user": "user_id",
    },
    {
        "title": "Targets by pace", "model": "sales.target",
        "domain": [], "row": "pace_state", "label": "Pace",
        "measures": ["__count", "amount_target", "amount_achieved"],
        "date": ("date_from", "date"), "team": "team_id", "user": "user_id",
    },
    {
        "title": "Service requests and ratings", "model": "sales.service.request",
        "domain": [], "row": "request_type", "label": "Type",
        "measures": ["__count", "rating"], "date": ("date_request", "datetime"), "team": "team_id",
        "user": "user_id",
    },
    {
        "title": "Overdue service requests", "model": "sales.service.request",
        "domain": [["is_overdue", "=", True]], "row": "request_type", "label": "Type",
        "measures": ["__count"], "date": ("date_request", "datetime"), "team": "team_id", "user": "user_id",
    },
    {
        "title": "Customers by RFM segment", "model": "res.partner",
        "domain": [["rfm_segment", "!=", False]], "row": "rfm_segment", "label": "RFM segment",
        "measures": ["__count", "insight_revenue", "insight_pay_days"], "user": "user_id",
    },
    {
        "title": "Backup health", "model": "sales.document.backup",
        "domain": [], "row": "state", "label": "Status",
        "measures": ["__count", "size"], "date": ("date", "datetime"),
    },
]

LISTS = [
    {
        "title": "Latest backups", "model": "sales.document.backup", "domain": [],
        "columns": ["name", "kind", "state", "date", "verified"],
        "order": [{"name": "date", "asc": False}], "date": ("date", "datetime"),
    },
]

ROWS_SHOWN = 6
COLUMNS = "ABCDEFG"
TITLE_STYLE = 1
HEADER_STYLE = 2


def field_matching(section):
    matching = {}
    if section.get("date"):
        chain, kind = section["date"]
        matching[FILTER_PERIOD] = {"chain": chain, "type": kind, "offset": 0}
    if section.get("team"):
        matching[FILTER_TEAM] = {"chain": section["team"], "type": "many2one"}
    if section.get("user"):
        matching[FILTER_USER] = {"chain": section["user"], "type": "many2one"}
    return matching


def view_link(title, model, domain, view_type, context=None):
    action = {
        "viewType": view_type,
        "action": {
            "domain": domain,
            "context": context or {},
            "modelName": model,
            "views": [[False, "list"], [False, "pivot"], [False, "form"], [False, "search"]],
        },
        "threshold": 0,
        "name": title,
    }
    return f"[{title}](odoo://view/{json.dumps(action, separators=(',', ':'))})"


def build():
    cells, pivots, lists, rows_meta = {}, {}, {}, {}
    row = 1
    for number, section in enumerate(PIVOTS, start=1):
        pivot_id = str(number)
        pivots[pivot_id] = {
            "type": "ODOO",
            "id": pivot_id,
            "formulaId": pivot_id,
            "name": section["title"],
            "model": section["model"],
            "domain": section["domain"],
            "context": {},
            "measures": [{"id": name, "fieldName": name} for name in section["measures"]],
            "rows": [{"fieldName": section["row"]}],
            "columns": [],
            "fieldMatching": field_matching(section),
        }
        context = {
            "pivot_row_groupby": [section["row"]],
            "pivot_measures": section["measures"],
        }
        cells[f"A{row}"] = {"content": view_link(section["title"], section["model"], section["domain"],
                                                 "pivot", context), "style": TITLE_STYLE}
        rows_meta[str(row - 1)] = {"size": 40}
        row += 1
        cells[f"A{row}"] = {"content": f'=_t("{section["label"]}")', "style": HEADER_STYLE}
        for column, measure in zip(COLUMNS[1:], section["measures"]):
            cells[f"{column}{row}"] = {
                "content": f'=PIVOT.HEADER({pivot_id},"measure","{measure}")', "style": HEADER_STYLE,
            }
        row += 1
        for position in range(1, ROWS_SHOWN + 1):
            cells[f"A{row}"] = {"content": f'=PIVOT.HEADER({pivot_id},"#{section["row"]}",{position})'}
            for column, measure in zip(COLUMNS[1:], section["measures"]):
                cells[f"{column}{row}"] = {
                    "content": f'=PIVOT.VALUE({pivot_id},"{measure}","#{section["row"]}",{position})',
                }
            row += 1
        cells[f"A{row}"] = {"content": '=_t("Total")', "style": HEADER_STYLE}
        for column, measure in zip(COLUMNS[1:], section["measures"]):
            cells[f"{column}{row}"] = {"content": f'=PIVOT.VALUE({pivot_id},"{measure}")', "style": HEADER_STYLE}
        row += 2
    for number, section in enumerate(LISTS, start=1):
        list_id = str(number)
        lists[list_id] = {
            "id": list_id,
            "name": section["title"],
            "model": section["model"],
            "domain": section["domain"],
            "columns": section["columns"],
            "context": {},
            "orderBy": section["order"],
            "fieldMatching": field_matching(section),
        }
        cells[f"A{row}"] = {"content": view_link(section["title"], section["model"], section["domain"], "list"),
                            "style": TITLE_STYLE}
        rows_meta[str(row - 1)] = {"size": 40}
        row += 1
        for column, field in zip(COLUMNS, section["columns"]):
            cells[f"{column}{row}"] = {"content": f'=ODOO.LIST.HEADER({list_id},"{field}")', "style": HEADER_STYLE}
        row += 1
        for position in range(1, ROWS_SHOWN + 1):
            for column, field in zip(COLUMNS, section["columns"]):
                cells[f"{column}{row}"] = {"content": f'=ODOO.LIST({list_id},{position},"{field}")'}
            row += 1
        row += 1
    return {
        "version": 21,
        "sheets": [{
            "id": "sheet1",
            "name": "Dashboard",
            "colNumber": len(COLUMNS),
            "rowNumber": row + 1,
            "rows": rows_meta,
            "cols": {"0": {"size": 260}, **{str(i): {"size": 190} for i in range(1, len(COLUMNS))}},
            "merges": [],
            "cells": cells,
            "styles": {},
            "formats": {},
            "borders": {},
            "conditionalFormats": [],
            "figures": [],
            "tables": [],
            "areGridLinesVisible": False,
            "isVisible": True,
            "headerGroups": {"ROW": [], "COL": []},
            "dataValidationRules": [],
            "comments": {},
        }],
        "styles": {
            str(TITLE_STYLE): {"textColor": "#01666b", "bold": True, "fontSize": 16},
            str(HEADER_STYLE): {"bold": True, "textColor": "#434343"},
        },
        "formats": {},
        "borders": {},
        "revisionId": "START_REVISION",
        "uniqueFigureIds": True,
        "settings": {"locale": {
            "name": "English (US)", "code": "en_US", "thousandsSeparator": ",", "decimalSeparator": ".",
            "dateFormat": "mm/dd/yyyy", "timeFormat": "hh:mm:ss", "formulaArgSeparator": ",", "weekStart": 7,
        }},
        "pivots": pivots,
        "pivotNextId": len(pivots) + 1,
        "customTableStyles": {},
        "odooVersion": 12,
        "globalFilters": GLOBAL_FILTERS,
        "lists": lists,
        "listNextId": len(lists) + 1,
        "chartOdooMenusReferences": {},
    }


if __name__ == "__main__":
    OUTPUT.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT}")
