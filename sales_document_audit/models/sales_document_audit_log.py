import json
import logging
from collections import defaultdict

from odoo import _, api, fields, models, sql_db
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import chain, xlsx_export
from .sales_document_audit_mixin import BUFFER_KEY
from .sales_document_audit_rule import DOCUMENT_MODELS

_logger = logging.getLogger(__name__)

OPERATIONS = [
    ("create", "Create"),
    ("write", "Write"),
    ("unlink", "Delete"),
    ("read", "Read"),
    ("print", "Print"),
    ("export", "Export"),
    ("denied", "Access denied"),
]

# Columns written by the capture path, in INSERT order.
INSERT_COLUMNS = (
    "res_model",
    "res_id",
    "res_name",
    "operation",
    "user_id",
    "timestamp",
    "changes",
    "ip_address",
    "user_agent",
    "device",
    "company_id",
)

# Columns only the sealing job may fill in (from NULL), and the archive flag.
SEAL_COLUMNS = ("hash", "prev_hash", "sequence", "checkpoint_id", "active")

# Rows sealed per checkpoint at most.
SEAL_BATCH = 5000


class SalesDocumentAuditLog(models.Model):
    """Append-only audit trail of sales documents.

    Rows are written only by the capture code, with raw SQL (one INSERT per
    transaction); the ORM refuses create, write and unlink for everyone, and
    a database trigger refuses UPDATE, DELETE and TRUNCATE except the sealing
    job filling the hash columns. Sealed rows are chained per company with
    SHA-256 and grouped into Merkle checkpoints.
    """

    _name = "sales.document.audit.log"
    _description = "Sales Document Audit Log"
    _order = "id desc"
    _log_access = False
    _rec_name = "res_name"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    res_model = fields.Char(string="Document model", required=True, index=True, readonly=True)
    res_id = fields.Many2oneReference(string="Document ID", model_field="res_model", index=True, readonly=True)
    res_name = fields.Char(string="Document", readonly=True)
    operation = fields.Selection(OPERATIONS, required=True, index=True, readonly=True)
    user_id = fields.Many2one("res.users", string="User", index=True, readonly=True, ondelete="restrict")
    timestamp = fields.Datetime(required=True, index=True, readonly=True)
    changes = fields.Text(string="Changes (JSON)", readonly=True)
    ip_address = fields.Char(string="IP address", readonly=True)
    user_agent = fields.Char(string="User agent", readonly=True)
    device = fields.Char(readonly=True)
    company_id = fields.Many2one("res.company", string="Company", index=True, readonly=True, ondelete="restrict")
    sequence = fields.Integer(readonly=True, index=True, help="Position in the company's hash chain once sealed.")
    prev_hash = fields.Char(string="Previous hash", readonly=True)
    hash = fields.Char(readonly=True)
    checkpoint_id = fields.Many2one(
        "sales.document.audit.checkpoint", string="Checkpoint", readonly=True, index=True, ondelete="restrict"
    )
    active = fields.Boolean(default=True, readonly=True, help="Archived rows are kept, out of the default views.")
    sealed = fields.Boolean(compute="_compute_sealed", search="_search_sealed")
    changes_html = fields.Html(string="Change details", compute="_compute_changes_html", sanitize=True)

    # ------------------------------------------------------------------
    # Compute / search
    # ------------------------------------------------------------------

    def _compute_sealed(self):
        for log in self:
            log.sealed = bool(log.hash)

    def _search_sealed(self, operator, value):
        positive = (operator == "=") == bool(value)
        return [("hash", "!=" if positive else "=", False)]

    @api.depends("changes", "res_model")
    def _compute_changes_html(self):
        for log in self:
            log.changes_html = log._render_changes()

    def _render_changes(self):
        """Readable old → new table of ``changes`` (escaped by the Html field)."""
        self.ensure_one()
        try:
            data = json.loads(self.changes or "{}")
        except ValueError:
            return False
        model_fields = self.env[self.res_model]._fields if self.res_model in self.env else {}
        rows = []

        def label(model_fields, name):
            field = model_fields.get(name)
            return field._description_string(self.env) if field else name

        def show(value):
            if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
                return value[1]
            if value in (None, False, []):
                return "—"
            return str(value)

        for name, (old, new) in sorted((data.get("fields") or {}).items()):
            rows.append((label(model_fields, name), show(old), show(new)))
        for line in data.get("lines") or []:
            line_fields = self.env[line["model"]]._fields if line.get("model") in self.env else {}
            product = (line.get("fields") or {}).get("product_id") or [None, None]
            product_name = next((show(v) for v in reversed(product) if isinstance(v, list)), None)
            line_label = line.get("name") or product_name or f"#{line.get('id')}"
            prefix = f"{line_label} [{line.get('operation')}]"
            for name, (old, new) in sorted((line.get("fields") or {}).items()):
                rows.append((f"{prefix}: {label(line_fields, name)}", show(old), show(new)))
        extra = {k: v for k, v in data.items() if k not in ("fields", "lines")}
        for key, value in sorted(extra.items()):
            rows.append((key, "", show(value)))
        if not rows:
            return False
        from markupsafe import Markup, escape

        body = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td>→</td><td>%s</td></tr>") % (escape(a), escape(b), escape(c))
            for a, b, c in rows
        )
        return Markup('<table class="table table-sm o_audit_changes">%s</table>') % body

    # ------------------------------------------------------------------
    # CRUD: the ORM never changes the audit trail
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        # Append-only: no ORM path changes the trail.
        self.browse().check_access("create")
        raise UserError(_("Audit log entries are written by the audit trail itself and cannot be created."))

    def write(self, vals):  # pylint: disable=method-required-super
        # Append-only: no ORM path changes the trail.
        self.check_access("write")
        raise UserError(_("Audit log entries cannot be modified."))

    def unlink(self):  # pylint: disable=method-required-super
        # Append-only: no ORM path changes the trail.
        self.check_access("unlink")
        raise UserError(_("Audit log entries cannot be deleted."))

    def copy(self, default=None):  # pylint: disable=method-required-super
        raise UserError(_("Audit log entries cannot be duplicated."))

    # ------------------------------------------------------------------
    # Schema: the database refuses changes too
    # ------------------------------------------------------------------

    def init(self):
        cr = self.env.cr
        cr.execute(SQL(
            """
            CREATE OR REPLACE FUNCTION sales_document_audit_log_guard() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
                    RAISE EXCEPTION 'sales document audit rows cannot be deleted'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                IF (to_jsonb(NEW) - %(seal)s::text[]) IS DISTINCT FROM (to_jsonb(OLD) - %(seal)s::text[]) THEN
                    RAISE EXCEPTION 'sales document audit rows cannot be modified'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                IF OLD.hash IS NOT NULL AND
                   (NEW.hash, NEW.prev_hash, NEW.sequence, NEW.checkpoint_id)
                   IS DISTINCT FROM (OLD.hash, OLD.prev_hash, OLD.sequence, OLD.checkpoint_id) THEN
                    RAISE EXCEPTION 'sealed sales document audit rows cannot be modified'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                IF NEW.active IS DISTINCT FROM OLD.active AND (NEW.hash IS NULL OR NEW.active) THEN
                    RAISE EXCEPTION 'only sealed sales document audit rows can be archived'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                RETURN NEW;
            END
            $$;
            DROP TRIGGER IF EXISTS sales_document_audit_log_guard ON sales_document_audit_log;
            CREATE TRIGGER sales_document_audit_log_guard
                BEFORE UPDATE OR DELETE ON sales_document_audit_log
                FOR EACH ROW EXECUTE FUNCTION sales_document_audit_log_guard();
            DROP TRIGGER IF EXISTS sales_document_audit_log_truncate ON sales_document_audit_log;
            CREATE TRIGGER sales_document_audit_log_truncate
                BEFORE TRUNCATE ON sales_document_audit_log
                FOR EACH STATEMENT EXECUTE FUNCTION sales_document_audit_log_guard();
            CREATE INDEX IF NOT EXISTS sales_document_audit_log_unsealed_idx
                ON sales_document_audit_log (company_id, id) WHERE hash IS NULL;
            CREATE INDEX IF NOT EXISTS sales_document_audit_log_document_idx
                ON sales_document_audit_log (res_model, res_id, id);
            """,
            seal=list(SEAL_COLUMNS),
        ))

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

    @api.model
    def _flush_audit_buffer(self):
        """Write the transaction's buffered changes: one row per document.

        Runs as a pre-commit hook (after the ORM flush); tests call
        ``env.cr.flush()`` to run it.
        """
        buffer = self.env.cr.precommit.data.pop(BUFFER_KEY, None)
        if not buffer or not buffer["docs"]:
            return
        rows = self.sudo()._prepare_change_rows(buffer)
        if rows:
            self._insert_rows(self.env.cr, rows)

    @api.model
    def _prepare_change_rows(self, buffer):
        request_info = buffer["request"]
        now = fields.Datetime.now()
        by_model = defaultdict(list)
        for (model, res_id), entry in buffer["docs"].items():
            by_model[model].append((res_id, entry))
        pending = []
        for model, items in by_model.items():
            Model = self.env[model].with_context(active_test=False)
            alive = Model.browse([res_id for res_id, entry in items if entry["op"] != "unlink"]).exists()
            new_values = alive._audit_snapshot() if alive else {}
            alive_by_id = {record.id: record for record in alive}
            line_new = self._line_new_values(items)
            for res_id, entry in items:
                record = alive_by_id.get(res_id)
                values = self._document_changes(Model, record, entry, new_values.get(res_id), line_new)
                if values is None:
                    continue
                operation, changes, name, company_id = values
                pending.append((model, changes, {
                    "res_model": model,
                    "res_id": res_id,
                    "res_name": name,
                    "operation": operation,
                    "user_id": entry["uid"],
                    "timestamp": now,
                    "ip_address": request_info["ip_address"],
                    "user_agent": request_info["user_agent"],
                    "device": request_info["device"],
                    "company_id": company_id or self.env.company.id,
                }))
        self._name_relational_values(pending)
        rows = []
        for _model, changes, row in pending:
            row["changes"] = chain.canonical_json(changes)
            rows.append(row)
        return rows

    @api.model
    def _line_new_values(self, items):
        ids_by_model = defaultdict(set)
        for _res_id, entry in items:
            for (line_model, line_id), line_entry in entry["lines"].items():
                if line_entry["op"] != "unlink":
                    ids_by_model[line_model].add(line_id)
        result = {}
        for line_model, ids in ids_by_model.items():
            lines = self.env[line_model].with_context(active_test=False).browse(sorted(ids)).exists()
            snapshot = lines._audit_snapshot() if lines else {}
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
        return operation, changes, record.display_name, record.company_id.id or entry["company_id"]

    @api.model
    def _name_relational_values(self, pending):
        """Replace many2one ids by ``[id, display name]`` in the diffs."""
        wanted = defaultdict(set)
        slots = []
        for model, changes, _row in pending:
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
            records = self.env[comodel].with_context(active_test=False).browse(sorted(ids)).exists()
            names[comodel] = self._cheap_names(records)
        for comodel, pair in slots:
            for index, value in enumerate(pair):
                if value:
                    pair[index] = [value, names[comodel].get(value, "")]

    @api.model
    def _cheap_names(self, records):
        """Names of ``records``: their stored name field when they have one
        (no display name computation on the commit path), else the display name.
        """
        rec_name = records._rec_name
        field = records._fields.get(rec_name) if rec_name else None
        if field is not None and field.store and field.type == "char":
            return {record.id: record[rec_name] or "" for record in records}
        return {record.id: record.display_name for record in records}

    @api.model
    def _insert_rows(self, cr, rows):
        """Insert audit rows with a single statement; returns their ids."""
        if not rows:
            return []
        placeholders = SQL(", ").join(
            SQL("(%s, TRUE)", SQL(", ").join(SQL("%s", row[column] if row[column] is not False else None) for column in INSERT_COLUMNS))
            for row in rows
        )
        cr.execute(SQL(
            "INSERT INTO sales_document_audit_log (%s, active) VALUES %s RETURNING id",
            SQL(", ").join(SQL.identifier(column) for column in INSERT_COLUMNS),
            placeholders,
        ))
        return [row[0] for row in cr.fetchall()]

    # ------------------------------------------------------------------
    # Capture: accesses, written in their own short transaction
    # ------------------------------------------------------------------


    @api.model
    def _insert_record_rows(self, records, operation, changes):
        """Write one audit row per record of ``records`` at once, outside the commit capture.

        For records that are not sales documents but whose changes belong in
        the trail (alerts, a customer's salesperson). ``changes(record)`` is
        the record's ``fields`` content: ``{field: [old, new]}``.
        """
        info = self._audit_request_info()
        now = fields.Datetime.now()
        rows = [
            {
                "res_model": records._name,
                "res_id": record.id,
                "res_name": record.display_name,
                "operation": operation,
                "user_id": self.env.uid,
                "timestamp": now,
                "changes": chain.canonical_json({"fields": changes(record)}),
                "ip_address": info["ip_address"],
                "user_agent": info["user_agent"],
                "device": info["device"],
                "company_id": record.company_id.id or self.env.company.id,
            }
            for record in records
        ]
        records.flush_recordset()
        self._insert_rows(self.env.cr, rows)
    @api.model
    def _log_access(self, records, operation, details=None):
        """Record a read, print, export or denied access; never raises."""
        if self.env.su or not records:
            return
        try:
            rows = self._prepare_access_rows(records, operation, details)
            self._write_out_of_band(rows, own_transaction=operation == "denied")
        except Exception:
            _logger.warning("Could not record the %s access to %s", operation, records, exc_info=True)

    @api.model
    def _prepare_access_rows(self, records, operation, details=None, bulk=False):
        """Access rows of ``records``: one per record, or one for all of them
        (``bulk``, and every export) that keeps the first 1000 ids."""
        info = self._audit_request_info()
        now = fields.Datetime.now()
        documents = records.sudo().with_context(active_test=False)
        base = {
            "res_model": records._name,
            "operation": operation,
            "user_id": self.env.uid,
            "timestamp": now,
            "ip_address": info["ip_address"],
            "user_agent": info["user_agent"],
            "device": info["device"],
        }
        if bulk or operation == "export":
            first = documents[:1]
            changes = dict(details or {}, ids=records.ids[:1000])
            return [dict(
                base,
                res_id=first.id,
                res_name=_("%(count)s records", count=len(records)),
                changes=chain.canonical_json(changes),
                company_id=first.company_id.id or self.env.company.id,
            )]
        return [
            dict(
                base,
                res_id=document.id,
                res_name=document.display_name,
                changes=chain.canonical_json(details or {}),
                company_id=document.company_id.id or self.env.company.id,
            )
            for document in documents
        ]

    @api.model
    def _side_cursor(self):
        """A cursor of its own, committed independently of the request."""
        registry = self.env.registry
        cr = self.env.cr
        if registry.in_test_mode() and cr.readonly and getattr(cr, "_savepoint", None):
            # A test transaction cannot nest a read/write cursor in a live
            # read-only one: use an independent connection, as production does.
            return sql_db.db_connect(cr.dbname).cursor()
        return registry.cursor()

    @api.model
    def _insert_on_side_cursor(self, rows):
        try:
            with self._side_cursor() as cr:
                cr.execute(SQL("SET LOCAL lock_timeout = %s", "2s"))
                self._insert_rows(cr, rows)
        except Exception:
            _logger.warning("Could not record %s audit access row(s)", len(rows), exc_info=True)

    @api.model
    def _write_out_of_band(self, rows, own_transaction=False):
        """Insert access ``rows`` without ever failing the request.

        In a read/write transaction the rows go with it. A read-only
        transaction cannot insert: the rows go through a short transaction
        of their own. Denied attempts usually end in a rollback: they are
        written at commit if the request commits anyway, else right after
        the rollback, exactly once.
        """
        cr = self.env.cr
        if not own_transaction:
            if cr.readonly:
                self._insert_on_side_cursor(rows)
            else:
                with cr.savepoint(flush=False):
                    self._insert_rows(cr, rows)
            return
        done = []

        def at_commit():
            if done:
                return
            done.append(True)
            if cr.readonly:
                self._insert_on_side_cursor(rows)
            else:
                self._insert_rows(cr, rows)

        def afterwards():
            # After a rollback, or after a commit when a rolled back
            # savepoint dropped the pre-commit hook.
            if done:
                return
            done.append(True)
            self._insert_on_side_cursor(rows)

        cr.precommit.add(at_commit)
        cr.postcommit.add(afterwards)
        cr.postrollback.add(afterwards)

    # ------------------------------------------------------------------
    # Sealing: hash chain and Merkle checkpoints
    # ------------------------------------------------------------------

    @api.model
    def _cron_seal(self):
        """Scheduled job: chain and seal every unsealed row, per company."""
        self.env.cr.execute(SQL(
            "SELECT DISTINCT company_id FROM sales_document_audit_log WHERE hash IS NULL"
        ))
        checkpoints = self.env["sales.document.audit.checkpoint"]
        for (company_id,) in self.env.cr.fetchall():
            checkpoints |= self._seal_company(company_id)
        return checkpoints

    @api.model
    def _seal_company(self, company_id):
        """Seal the unsealed rows of one company into checkpoints."""
        cr = self.env.cr
        Checkpoint = self.env["sales.document.audit.checkpoint"]
        # One sealer per company at a time; the write path never takes it.
        cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", 0x5DA0D17, company_id or 0))
        created = Checkpoint.browse()
        while True:
            cr.execute(SQL(
                """SELECT id, company_id, res_model, res_id, res_name, operation, user_id, timestamp,
                          changes, ip_address, user_agent, device
                     FROM sales_document_audit_log
                    WHERE company_id IS NOT DISTINCT FROM %s AND hash IS NULL
                    ORDER BY id LIMIT %s""",
                company_id, SEAL_BATCH,
            ))
            rows = cr.dictfetchall()
            if not rows:
                return created
            last = Checkpoint._last_for_company(company_id)
            cr.execute(SQL(
                """SELECT hash, sequence FROM sales_document_audit_log
                    WHERE company_id IS NOT DISTINCT FROM %s AND hash IS NOT NULL
                    ORDER BY sequence DESC LIMIT 1""",
                company_id,
            ))
            previous = cr.fetchone() or ("", 0)
            prev_hash, sequence = previous[0], previous[1]
            updates = []
            for row in rows:
                sequence += 1
                row["sequence"] = sequence
                digest = chain.row_hash(prev_hash, row)
                updates.append((row["id"], sequence, prev_hash, digest))
                prev_hash = digest
            checkpoint = Checkpoint._create_sealed(company_id, rows, [u[3] for u in updates], last)
            values = SQL(", ").join(SQL("(%s, %s, %s, %s)", *update) for update in updates)
            cr.execute(SQL(
                """UPDATE sales_document_audit_log AS log
                      SET sequence = v.seq, prev_hash = v.prev, hash = v.digest, checkpoint_id = %s
                     FROM (VALUES %s) AS v(id, seq, prev, digest)
                    WHERE log.id = v.id""",
                checkpoint.id, values,
            ))
            created |= checkpoint

    # ------------------------------------------------------------------
    # Verification
    # ------------------------------------------------------------------

    @api.model
    def verify_integrity(self, company_id=None):
        """Re-compute the hash chain and the checkpoints.

        For auditors, security officers and administrators, over the
        companies they belong to (all of them, or ``company_id``).

        :return: ``{'ok': bool, 'checked': int, 'first_broken_id': int or False}``
        """
        company_ids = self._check_trail_verifier(company_id)
        return self.sudo()._verify_integrity(company_ids)  # sudo: the check above decided who may

    @api.model
    def _check_trail_verifier(self, company_id=None):
        """Refuse users who may not verify the trail; the companies they may verify.

        :return: a list of company ids (``None`` stands for rows without a
            company), or ``None`` for every company (the superuser).
        :raise AccessError: for anyone but auditors, security officers and
            administrators, or for a company the user does not belong to.
        """
        if company_id is not None and not isinstance(company_id, int):
            raise UserError(_("The company must be given by its id."))
        if self.env.su:
            return [company_id] if company_id else None
        user = self.env.user
        if not (user.has_group("sales_document_audit.group_auditor") or user.has_group("base.group_system")):
            raise AccessError(_(
                "Only auditors, security officers and administrators can verify the audit trail "
                "or export its checkpoints."
            ))
        allowed = user.company_ids.ids
        if company_id:
            if company_id not in allowed:
                raise AccessError(_("You can only verify the audit trail of your own companies."))
            return [company_id]
        return [*allowed, None]

    @api.model
    def _verify_integrity(self, company_ids=None):
        """``verify_integrity`` for server code: no rights check (``None``: every company)."""
        cr = self.env.cr
        if company_ids is None:
            cr.execute(SQL(
                """SELECT DISTINCT company_id FROM sales_document_audit_log WHERE hash IS NOT NULL
                   UNION SELECT DISTINCT company_id FROM sales_document_audit_checkpoint"""
            ))
            company_ids = [row[0] for row in cr.fetchall()]
        checked = 0
        broken = []
        for company in sorted(company_ids, key=lambda company: company or 0):
            count, first_broken = self._verify_company(company)
            checked += count
            if first_broken:
                broken.append(first_broken)
        first_broken_id = min(broken) if broken else False
        return {"ok": not broken, "checked": checked, "first_broken_id": first_broken_id}

    @api.model
    def _verify_company(self, company_id):
        cr = self.env.cr
        checkpoints = self.env["sales.document.audit.checkpoint"]._read_chain(company_id)
        prev_hash = ""
        prev_checkpoint_hash = ""
        expected_sequence = 1
        checked = 0
        for checkpoint in checkpoints:
            cr.execute(SQL(
                """SELECT id, company_id, sequence, res_model, res_id, res_name, operation, user_id,
                          timestamp, changes, ip_address, user_agent, device, prev_hash, hash, checkpoint_id
                     FROM sales_document_audit_log
                    WHERE company_id IS NOT DISTINCT FROM %s AND sequence BETWEEN %s AND %s
                    ORDER BY sequence""",
                company_id, checkpoint["first_sequence"], checkpoint["last_sequence"],
            ))
            rows = cr.dictfetchall()
            leaves = []
            for row in rows:
                checked += 1
                if (
                    row["sequence"] != expected_sequence
                    or (row["prev_hash"] or "") != prev_hash
                    or chain.row_hash(prev_hash, row) != row["hash"]
                    or row["checkpoint_id"] != checkpoint["id"]
                ):
                    return checked, row["id"]
                leaves.append(row["hash"])
                prev_hash = row["hash"]
                expected_sequence += 1
            if (
                len(rows) != checkpoint["row_count"]
                or expected_sequence != checkpoint["last_sequence"] + 1
                or chain.merkle_root(leaves) != checkpoint["merkle_root"]
                or (checkpoint["prev_hash"] or "") != prev_checkpoint_hash
                or chain.checkpoint_hash(prev_checkpoint_hash, checkpoint) != checkpoint["hash"]
            ):
                return checked, checkpoint["last_log_id"]
            prev_checkpoint_hash = checkpoint["hash"]
        # Sealed rows outside every checkpoint were sealed by something else.
        cr.execute(SQL(
            """SELECT min(id) FROM sales_document_audit_log
                WHERE company_id IS NOT DISTINCT FROM %s AND hash IS NOT NULL AND sequence >= %s""",
            company_id, expected_sequence,
        ))
        stray = cr.fetchone()[0]
        return checked, stray or False

    # ------------------------------------------------------------------
    # Retention: archive sealed ranges, never delete
    # ------------------------------------------------------------------

    @api.model
    def _cron_archive(self):
        """Archive sealed rows older than each company's retention period."""
        archived = 0
        for company in self.env["res.company"].sudo().search([("audit_retention_days", ">", 0)]):
            cutoff = fields.Datetime.subtract(fields.Datetime.now(), days=company.audit_retention_days)
            self.env.cr.execute(SQL(
                """UPDATE sales_document_audit_log SET active = FALSE
                    WHERE company_id = %s AND active AND hash IS NOT NULL AND timestamp < %s""",
                company.id, cutoff,
            ))
            archived += self.env.cr.rowcount
        self.invalidate_model(["active"])
        return archived

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_verify_integrity(self):
        """Verify the chain and show the result to the user."""
        result = self.verify_integrity()
        if result["ok"]:
            message = _("Audit trail intact: %(count)s sealed entries verified.", count=result["checked"])
            kind = "success"
        else:
            message = _(
                "Audit trail broken: the first broken entry is #%(id)s (%(count)s entries checked).",
                id=result["first_broken_id"], count=result["checked"],
            )
            kind = "danger"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": _("Verify integrity"), "message": message, "type": kind, "sticky": not result["ok"]},
        }

    def action_seal_now(self):
        """Seal pending entries now instead of waiting for the scheduled job."""
        self.env["sales.document.audit.checkpoint"].check_access("read")
        if not self.env.user.has_group("sales_document_audit.group_security_officer"):
            raise AccessError(_("Only security officers can seal the audit trail."))
        checkpoints = self.sudo()._cron_seal()  # sudo: sealing writes the seal columns with raw SQL
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Seal"),
                "message": _("%(count)s checkpoint(s) sealed.", count=len(checkpoints)),
                "type": "success",
            },
        }

    def action_open_document(self):
        """Open the document the entry is about."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "views": [(False, "form")],
        }

    def action_export_xlsx(self):
        """Spreadsheet of the selected entries (all visible ones when none)."""
        logs = self or self.search([])
        headers = [
            _("ID"), _("Date"), _("User"), _("Operation"), _("Document model"), _("Document ID"), _("Document"),
            _("Changes (JSON)"), _("IP address"), _("User agent"), _("Device"), _("Company"), _("Sequence"),
            _("Previous hash"), _("Hash"),
        ]
        operations = dict(self._fields["operation"]._description_selection(self.env))
        rows = [
            (
                log.id, fields.Datetime.to_string(log.timestamp), log.user_id.name, operations.get(log.operation),
                log.res_model, log.res_id, log.res_name, log.changes, log.ip_address, log.user_agent, log.device,
                log.company_id.name, log.sequence, log.prev_hash, log.hash,
            )
            for log in logs
        ]
        content = xlsx_export.build_workbook(headers, rows, sheet_name=_("Audit trail"))
        # The auditor reads the trail but cannot create attachments.
        attachment = self.env["ir.attachment"].sudo().create({
            "name": f"audit_trail_{fields.Date.to_string(fields.Date.context_today(self))}.xlsx",
            "raw": content,
            "mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "res_model": self._name,
            "public": False,
        })
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "self",
        }

    @api.model
    def _document_models(self):
        return DOCUMENT_MODELS
