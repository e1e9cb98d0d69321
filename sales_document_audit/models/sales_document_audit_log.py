import json
import logging

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..lib.chain import HASHED_COLUMNS
from ..tools import xlsx_export

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

# Columns written by the capture path: every hashed column but those the
# sealing job assigns, so that a captured column is always in the hash.
INSERT_COLUMNS = tuple(column for column in HASHED_COLUMNS if column not in ("id", "sequence"))

# Columns only the sealing job may fill in (from NULL), and the archive flag.
SEAL_COLUMNS = ("hash", "prev_hash", "sequence", "checkpoint_id", "active")

# Rows sealed per checkpoint at most.
SEAL_BATCH = 5000

# Columns naming a user and a company without a foreign key. Every audited
# transaction inserts a row naming the current user and its document's
# company, which exist; a foreign key would check that again at each insert,
# locking the user's and the company's row (``FOR KEY SHARE``): one more
# write per transaction, and one company row locked by every concurrent
# audited write of the company. ``res.users`` and ``res.company`` refuse
# instead to delete a user or a company the trail names.
UNCHECKED_REFERENCES = ("user_id", "company_id")


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

    # Every user write adds a row: its indexes are kept to those the reads
    # need. Documents are found through ``res_model, res_id`` (index made in
    # ``init``), users' activity through ``user_id`` and ``timestamp``, the
    # chain through ``sequence`` and ``checkpoint_id``, which stay empty, out
    # of their indexes, until the sealing job fills them.
    res_model = fields.Char(string="Document model", required=True, readonly=True)
    res_id = fields.Many2oneReference(string="Document ID", model_field="res_model", readonly=True)
    res_name = fields.Char(string="Document", readonly=True)
    operation = fields.Selection(OPERATIONS, required=True, readonly=True)
    # No foreign key (UNCHECKED_REFERENCES): "restrict" is kept by ``res.users`` and ``res.company``.
    user_id = fields.Many2one("res.users", string="User", index=True, readonly=True, ondelete="restrict")
    timestamp = fields.Datetime(required=True, index=True, readonly=True)
    changes = fields.Text(string="Changes (JSON)", readonly=True)
    ip_address = fields.Char(string="IP address", readonly=True)
    user_agent = fields.Char(string="User agent", readonly=True)
    device = fields.Char(readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True, ondelete="restrict")
    sequence = fields.Integer(readonly=True, index="btree_not_null", help="Position in the company's hash chain once sealed.")
    prev_hash = fields.Char(string="Previous hash", readonly=True)
    hash = fields.Char(readonly=True)
    checkpoint_id = fields.Many2one(
        "sales.document.audit.checkpoint", string="Checkpoint", readonly=True, index="btree_not_null", ondelete="restrict"
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

    def _auto_init(self):
        result = super()._auto_init()
        # Odoo lists the foreign key of each stored many2one in jobs queued
        # while it sets the table up, and creates the missing ones once every
        # job ran: this job, queued after them, takes these columns off the list.
        self.pool.post_init(self._unlist_unchecked_references)
        return result

    def _unlist_unchecked_references(self):
        for column in UNCHECKED_REFERENCES:
            self.pool._foreign_keys.pop((self._table, column), None)

    @api.model
    def _refuse_deleting_named(self, records, column):
        """Refuse the deletion of ``records`` (users or companies) when audit rows name them in ``column``.

        ``column`` is one of ``UNCHECKED_REFERENCES``, which no foreign key
        protects. A company is named by unsealed rows or by the checkpoints
        its sealed rows belong to: both are indexed, the trail's own company
        column is not.
        """
        if column not in UNCHECKED_REFERENCES:
            raise ValueError(f"{column} is not a column of UNCHECKED_REFERENCES")
        if not records:
            return
        # One row found per id is enough (an active user is named by millions).
        if column == "user_id":
            condition = SQL("EXISTS (SELECT 1 FROM sales_document_audit_log WHERE user_id = ref.id)")
        else:
            condition = SQL(
                """EXISTS (SELECT 1 FROM sales_document_audit_log WHERE company_id = ref.id AND hash IS NULL)
                   OR EXISTS (SELECT 1 FROM sales_document_audit_checkpoint WHERE company_id = ref.id)"""
            )
        self.env.cr.execute(SQL("SELECT ref.id FROM unnest(%s::int[]) AS ref(id) WHERE %s", records.ids, condition))
        named = records.browse(sorted(row[0] for row in self.env.cr.fetchall()))
        if not named:
            return
        names = ", ".join(named.mapped("name"))
        if column == "user_id":
            raise UserError(_(
                "The sales document audit trail records what %(users)s did: a user it names cannot be "
                "deleted. Archive the user instead.",
                users=names,
            ))
        raise UserError(_(
            "The sales document audit trail records documents of %(companies)s: a company it names cannot be deleted.",
            companies=names,
        ))

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
    # Actions
    # ------------------------------------------------------------------

    def action_verify_integrity(self):
        """Verify the chain and show the result to the user."""
        result = self.verify_integrity()
        if result["ok"]:
            message = _("Audit trail intact: %(count)s sealed entries verified.", count=result["checked"])
            if result.get("anchors_checked"):
                message += " " + _(
                    "%(anchored)s checkpoints match their anchors, %(pending)s wait for anchoring.",
                    anchored=result["anchored"], pending=result["unanchored"],
                )
            kind = "success"
        else:
            message = _(
                "Audit trail broken: the first broken entry is #%(id)s at position %(sequence)s "
                "(%(count)s entries checked). %(reason)s",
                id=result["first_broken_id"], sequence=result.get("first_broken_sequence"), count=result["checked"],
                reason=result.get("message") or "",
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
