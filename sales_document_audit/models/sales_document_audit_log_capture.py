from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import MissingError
from odoo.tools import SQL

from ..lib import chain
from .sales_document_audit_log import INSERT_COLUMNS
from .sales_document_audit_mixin import BUFFER_KEY, NOT_CACHED

# The columns of INSERT_COLUMNS as a set: every row built has exactly these.
INSERT_COLUMN_SET = frozenset(INSERT_COLUMNS)
# Casts of the column types of INSERT_COLUMNS, for rows inserted from a
# VALUES list (whose untyped literals would otherwise be text).
COLUMN_CASTS = {"varchar": SQL("varchar"), "int4": SQL("int4"), "timestamp": SQL("timestamp"), "text": SQL("text")}
# One row of such a VALUES list: the columns, then whether to check that
# the row's document exists.
VALUES_ROW = "(" + ", ".join(["%s"] * (len(INSERT_COLUMNS) + 1)) + ")"
# The parts of that INSERT that depend only on INSERT_COLUMNS (built once).
_INSERT_PARTS = {}
# A plain INSERT of audit rows: its head, and one row of its VALUES list.
INSERT_HEAD = SQL(
    "INSERT INTO sales_document_audit_log (%s, active)", SQL(", ").join(SQL.identifier(c) for c in INSERT_COLUMNS)
)
INSERT_ROW = "(" + ", ".join(["%s"] * len(INSERT_COLUMNS)) + ", TRUE)"


class SalesDocumentAuditLogCapture(models.Model):
    """Change capture: the transaction's buffered changes, one row per document, inserted before commit."""

    _inherit = "sales.document.audit.log"

    # ------------------------------------------------------------------
    # Capture: change rows, flushed in bulk before commit
    # ------------------------------------------------------------------

    @api.model
    def _audit_request_info(self):
        """IP address, user agent and device class of the current request."""
        from odoo.http import request

        info = {"ip_address": None, "user_agent": None, "device": "system"}
        try:
            httprequest = request and request.httprequest
        except RuntimeError:
            httprequest = None
        if httprequest:
            agent = httprequest.headers.get("User-Agent") or ""
            info = {
                "ip_address": httprequest.remote_addr or None,
                "user_agent": agent[:512] or None,
                "device": chain.device_from_user_agent(agent),
            }
        return info

    # ------------------------------------------------------------------
    # Row values: the one builder of every audit row
    # ------------------------------------------------------------------

    @api.model
    def _prepare_log_shared_vals(self, request_info=None, default_company=True):
        """Values the rows of one batch share: user, time, request, default company.

        ``request_info`` is what ``_audit_request_info`` returned when the
        batch started (read from the current request otherwise). Without
        ``default_company`` (every row of the batch names its company), the
        user's company is not read: on the commit path that is a query.
        """
        info = request_info or self._audit_request_info()
        return {
            "user_id": self.env.uid,
            "timestamp": fields.Datetime.now(),
            "ip_address": info["ip_address"],
            "user_agent": info["user_agent"],
            "device": info["device"],
            "company_id": self.env.company.id if default_company else None,
        }

    @api.model
    def _prepare_log_vals(self, shared, res_model, res_id, operation, changes, res_name=None, company_id=False,
                          user_id=False):
        """Values of one audit row: every column of ``INSERT_COLUMNS``, nothing else.

        ``shared`` comes from ``_prepare_log_shared_vals``; ``changes`` is the
        row's content (a dict, stored as canonical JSON); ``company_id`` and
        ``user_id`` replace the shared ones when set.
        """
        vals = dict(
            shared,
            res_model=res_model,
            res_id=res_id or None,
            res_name=res_name or None,
            operation=operation,
            changes=chain.canonical_json(changes),
        )
        if company_id:
            vals["company_id"] = company_id
        if user_id:
            vals["user_id"] = user_id
        return vals

    # ------------------------------------------------------------------
    # Change rows
    # ------------------------------------------------------------------

    @api.model
    def _flush_audit_buffer(self):
        """Write the transaction's buffered changes: one row per document.

        Runs as a pre-commit hook (after the ORM flush); tests call
        ``env.cr.flush()`` to run it.
        """
        buffer = self.env.cr.precommit.data.pop(BUFFER_KEY, None)
        if not buffer or not buffer["docs"]:
            return
        # sudo: the new values of every changed document are read whoever changed it.
        log = self.sudo()
        cr = self.env.cr
        try:
            # Documents not deleted through the ORM still exist: their values
            # come from the cache; the INSERT checks that those a cascade may
            # have deleted exist, which spares a query per model.
            rows = log._prepare_change_rows(buffer, assume_alive=True)
        except MissingError:
            # One was deleted behind the ORM (a cascade) with values not in cache.
            rows = None
        if rows is None:
            rows = log._prepare_change_rows(buffer)
            self._insert_rows(cr, rows)
            return
        docs = buffer["docs"]
        may_vanish = {
            model: self.env[model]._audit_profile_now().may_vanish for model in {row["res_model"] for row in rows}
        }
        check = [
            docs[(row["res_model"], row["res_id"])]["op"] != "unlink" and may_vanish[row["res_model"]]
            for row in rows
        ]
        gone = self._insert_rows_of_existing(cr, rows, check)
        if gone:
            # Rows for what the database no longer has: deleted, as unlink rows.
            rows = log._prepare_change_rows(dict(buffer, docs={key: docs[key] for key in gone}))
            self._insert_rows(cr, rows)

    @api.model
    def _prepare_change_rows(self, buffer, assume_alive=False):
        """Audit rows of the buffered changes, one per changed document.

        With ``assume_alive``, the documents not deleted through the ORM are
        taken as existing, without asking the database (the caller inserts
        their rows with ``_insert_rows_of_existing``); values missing from
        the cache of one that does not exist raise ``MissingError``.
        """
        by_model = defaultdict(list)
        for (model, res_id), entry in buffer["docs"].items():
            by_model[model].append((res_id, entry))
        pending = []
        for model, items in by_model.items():
            # (the snapshot reads archived related records itself)
            Model = self.env[model]
            alive = Model.browse([res_id for res_id, entry in items if entry["op"] != "unlink"])
            if not assume_alive:
                alive = alive.exists()
            alive_by_id = {record.id: record for record in alive}
            new_values = self._new_values(Model, [
                (res_id, entry) for res_id, entry in items if res_id in alive_by_id
            ])
            line_new = self._line_new_values(items)
            for res_id, entry in items:
                record = alive_by_id.get(res_id)
                values = self._document_changes(Model, record, entry, new_values.get(res_id), line_new)
                if values is None:
                    continue
                operation, changes, name, company_id = values
                pending.append((model, res_id, entry, operation, changes, name, company_id))
        if not pending:
            return []
        self._name_relational_values([(model, changes) for model, *_rest, changes, _name, _company in pending])
        shared = self._prepare_log_shared_vals(
            buffer["request"], default_company=not all(company_id for *_rest, company_id in pending)
        )
        return [
            self._prepare_log_vals(
                shared, model, res_id, operation, changes, res_name=name, company_id=company_id,
                user_id=entry["uid"],
            )
            for model, res_id, entry, operation, changes, name, company_id in pending
        ]

    @api.model
    def _new_values(self, Model, items):
        """``{id: {field: value}}`` now, of the fields each entry of ``items`` needs.

        A created record needs every audited field; a changed one only the
        fields its old values hold (nothing else can show in its diff).
        """
        groups = defaultdict(list)
        for res_id, entry in items:
            names = None if entry["op"] == "create" else frozenset(entry["old"] or ())
            groups[names].append(res_id)
        result = {}
        for names, ids in groups.items():
            if names is None:
                result.update(Model.browse(ids)._audit_snapshot())
            elif names:
                result.update(Model.browse(ids)._audit_snapshot(names=names))
            else:
                result.update(dict.fromkeys(ids, {}))
        return result

    @api.model
    def _line_new_values(self, items):
        items_by_model = defaultdict(list)
        for _res_id, entry in items:
            for (line_model, line_id), line_entry in entry["lines"].items():
                if line_entry["op"] != "unlink":
                    items_by_model[line_model].append((line_id, line_entry))
        result = {}
        for line_model, line_items in items_by_model.items():
            Lines = self.env[line_model]
            alive = set(Lines.browse(sorted({line_id for line_id, _entry in line_items})).exists().ids)
            snapshot = self._new_values(Lines, [item for item in line_items if item[0] in alive])
            result[line_model] = (snapshot, {})
        return result

    @api.model
    def _document_changes(self, Model, record, entry, new, line_new):
        """(operation, changes, name, company) of one buffered document, or None."""
        operation = entry["op"]
        if record is None:
            if not entry.get("is_document", True) or operation == "create":
                return None
            return "unlink", {"fields": {k: [v, None] for k, v in (entry["old"] or {}).items()}}, \
                entry.get("name"), entry["company_id"]
        if not record._audit_is_document():
            return None
        if operation == "create":
            field_changes = {k: [None, v] for k, v in new.items() if v not in (False, None, [], "")}
        else:
            field_changes = chain.diff_values(entry["old"], new)
        line_changes = []
        for (line_model, line_id), line_entry in entry["lines"].items():
            snapshot, names = line_new.get(line_model, ({}, {}))
            line_values = snapshot.get(line_id)
            if line_values is None:
                line_op = "unlink"
                diff = {k: [v, None] for k, v in (line_entry["old"] or {}).items() if v not in (False, None, [])}
            elif line_entry["op"] == "create":
                line_op = "create"
                diff = {k: [None, v] for k, v in line_values.items() if v not in (False, None, [], "")}
            else:
                line_op = "write"
                diff = chain.diff_values(line_entry["old"], line_values)
            if diff:
                line_changes.append({
                    "model": line_model,
                    "id": line_id,
                    "name": names.get(line_id) or line_entry.get("name"),
                    "operation": line_op,
                    "fields": diff,
                })
        annotation = entry.get("annotation") or {}
        if operation == "write" and not field_changes and not line_changes and not annotation:
            return None
        changes = dict(annotation, fields=field_changes)
        if line_changes:
            changes["lines"] = line_changes
        if operation == "write" and record._audit_is_validated(entry["old"] or {}):
            status = set(record._audit_status_fields)
            reopened = "state" in field_changes
            if reopened or line_changes or set(field_changes) - status:
                changes["after_validation"] = True
        return operation, changes, record._audit_document_name(), record.company_id.id or entry["company_id"]

    @api.model
    def _name_relational_values(self, pending):
        """Replace many2one ids by ``[id, display name]`` in the diffs (``pending``: ``(model, changes)`` pairs)."""
        wanted = defaultdict(set)
        slots = []
        for model, changes in pending:
            parts = [(model, changes.get("fields") or {})]
            parts += [(line["model"], line["fields"]) for line in changes.get("lines") or []]
            for part_model, diff in parts:
                model_fields = self.env[part_model]._fields
                for name, pair in diff.items():
                    field = model_fields.get(name)
                    if field is None or field.type != "many2one":
                        continue
                    for value in pair:
                        if value:
                            wanted[field.comodel_name].add(value)
                    slots.append((field.comodel_name, pair))
        names = {}
        for comodel, ids in wanted.items():
            Comodel = self.env[comodel].with_context(active_test=False)
            # Most were read by the transaction itself: their names come from
            # the cache, and only the others cost a query (two, with the check
            # that they exist).
            known, missing = self._cached_names(Comodel, ids)
            if missing:
                known.update(self._cheap_names(Comodel.browse(sorted(missing)).exists()))
            names[comodel] = known
        for comodel, pair in slots:
            for index, value in enumerate(pair):
                if value:
                    pair[index] = [value, names[comodel].get(value, "")]

    @api.model
    def _name_field(self, Model):
        """The field ``_cheap_names`` reads the names of ``Model`` from."""
        rec_name = Model._rec_name
        field = Model._fields.get(rec_name) if rec_name else None
        if field is not None and field.store and field.type == "char":
            return field
        return Model._fields["display_name"]

    @api.model
    def _cached_names(self, Model, ids):
        """``({id: name}, missing ids)``: the names of ``ids`` the cache holds, and the ids it does not."""
        field = self._name_field(Model)
        cache = self.env.cache
        known, missing = {}, []
        for record_id in ids:
            value = cache.get(Model.browse(record_id), field, NOT_CACHED)
            if value is NOT_CACHED:
                missing.append(record_id)
            else:
                known[record_id] = value or ""
        return known, missing

    @api.model
    def _cheap_names(self, records):
        """Names of ``records``: their stored name field when they have one
        (no display name computation on the commit path), else the display name.
        """
        field = self._name_field(records)
        return {record.id: record[field.name] or "" for record in records}

    @api.model
    def _insert_rows_of_existing(self, cr, rows, check):
        """Insert ``rows`` in one statement, those flagged in ``check`` only
        when their document exists; returns the ``(res_model, res_id)`` of
        the flagged rows left out."""
        if not any(check):
            self._insert_rows(cr, rows)
            return set()
        self._check_row_columns(rows)
        if not _INSERT_PARTS:
            model_fields = self._fields
            _INSERT_PARTS["columns"] = SQL(", ").join(SQL.identifier(column) for column in INSERT_COLUMNS)
            _INSERT_PARTS["select"] = SQL(", ").join(
                SQL("CAST(v.%s AS %s)", SQL.identifier(column), COLUMN_CASTS[model_fields[column].column_type[0]])
                for column in INSERT_COLUMNS
            )
        columns, select = _INSERT_PARTS["columns"], _INSERT_PARTS["select"]
        values = SQL(", ").join(
            SQL(VALUES_ROW, *(row[column] if row[column] is not False else None for column in INSERT_COLUMNS),
                bool(checked))
            for row, checked in zip(rows, check)
        )
        models_checked = sorted({row["res_model"] for row, checked in zip(rows, check) if checked})
        exists = SQL(" ").join(
            SQL("WHEN %s THEN EXISTS (SELECT 1 FROM %s t WHERE t.id = v.res_id)",
                model, SQL.identifier(self.env[model]._table))
            for model in models_checked
        )
        cr.execute(SQL(
            """INSERT INTO sales_document_audit_log (%(columns)s, active)
               SELECT %(select)s, TRUE FROM (VALUES %(values)s) AS v(%(columns)s, checked)
               WHERE NOT v.checked OR CASE v.res_model %(exists)s ELSE TRUE END
               RETURNING res_model, res_id""",
            columns=columns, select=select, values=values, exists=exists,
        ))
        inserted = set(cr.fetchall())
        return {
            (row["res_model"], row["res_id"]) for row, checked in zip(rows, check) if checked
        } - inserted

    @staticmethod
    def _check_row_columns(rows):
        for row in rows:
            if row.keys() != INSERT_COLUMN_SET:
                raise ValueError(f"An audit row has the columns {sorted(INSERT_COLUMNS)}, not {sorted(row)}.")

    @api.model
    def _insert_rows(self, cr, rows):
        """Insert audit rows (built by ``_prepare_log_vals``) with a single statement."""
        if not rows:
            return
        self._check_row_columns(rows)
        # One SQL object for the whole statement, and no result to fetch:
        # this runs at every commit.
        params = [row[column] if row[column] is not False else None for row in rows for column in INSERT_COLUMNS]
        cr.execute(SQL(f"{INSERT_HEAD.code} VALUES {', '.join([INSERT_ROW] * len(rows))}", *params))
