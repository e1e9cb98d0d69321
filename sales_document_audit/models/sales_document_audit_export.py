import hashlib
import json

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..lib import trail


class SalesDocumentAuditExport(models.Model):
    """An explicit, audited export of the whole trail with its checkpoints.

    The audit addon can only be uninstalled once every entry was exported
    and verified (against the anchors when they are configured): the export
    is the copy that outlives the tables the uninstallation drops.
    """

    _name = "sales.document.audit.export"
    _description = "Audit Trail Export"
    _order = "id desc"

    user_id = fields.Many2one("res.users", string="Exported by", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True, index=True)
    date = fields.Datetime(readonly=True)
    last_log_id = fields.Integer(string="Last entry", readonly=True)
    row_count = fields.Integer(string="Entries", readonly=True)
    checkpoint_count = fields.Integer(string="Checkpoints", readonly=True)
    verified = fields.Boolean(string="Verified intact", readonly=True)
    anchors_checked = fields.Boolean(string="Checked against anchors", readonly=True)
    verification = fields.Text(string="Verification result", readonly=True)
    attachment_id = fields.Many2one("ir.attachment", string="File", readonly=True)
    sha256 = fields.Char(string="SHA-256", readonly=True)

    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        # Recorded by the export action only.
        self.browse().check_access("create")
        raise UserError(_("Trail exports are recorded by the export action only."))

    def write(self, vals):  # pylint: disable=method-required-super
        self.check_access("write")
        raise UserError(_("Trail exports cannot be modified."))

    def unlink(self):  # pylint: disable=method-required-super
        self.check_access("unlink")
        raise UserError(_("Trail exports cannot be deleted."))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    @api.model
    def action_export_trail(self):
        """Seal what is pending, verify, and export every entry and checkpoint to a file."""
        if not (self.env.su or self.env.user.has_group("sales_document_audit.group_security_officer")):
            raise AccessError(_("Only security officers can export the whole audit trail."))
        export = self.sudo()._export_trail()  # sudo: the whole trail, every company, for the officer who asked
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": export.id,
            "views": [(False, "form")],
        }

    @api.model
    def _export_trail(self):
        cr = self.env.cr
        Log = self.env["sales.document.audit.log"]
        # The export is recorded, and audited, first: its own audit entry is part of what it exports.
        cr.execute(SQL(
            """INSERT INTO sales_document_audit_export (user_id, company_id, date)
               VALUES (%s, %s, %s) RETURNING id""",
            self.env.uid, self.env.company.id, fields.Datetime.now(),
        ))
        export = self.browse(cr.fetchone()[0])
        Log._insert_record_rows(export, "export", lambda record: {"export": [None, record.id]})
        Log._cron_seal()
        result = Log._verify_integrity()
        cr.execute(SQL(
            "SELECT %s FROM sales_document_audit_log ORDER BY id",
            SQL(", ").join(SQL.identifier(name) for name in (*trail.ROW_COLUMNS, "active")),
        ))
        rows = cr.dictfetchall()
        cr.execute(SQL(
            "SELECT %s FROM sales_document_audit_checkpoint ORDER BY id",
            SQL(", ").join(SQL.identifier(name) for name in trail.CHECKPOINT_COLUMNS),
        ))
        checkpoints = cr.dictfetchall()
        content = json.dumps({
            "format": "sales_document_audit.trail/1",
            "database": self.env["sales.document.audit.checkpoint"]._sd_database(),
            "exported_at": fields.Datetime.to_string(fields.Datetime.now()),
            "verification": result,
            "rows": rows,
            "checkpoints": checkpoints,
        }, default=str, sort_keys=True).encode()
        attachment = self.env["ir.attachment"].create({
            "name": f"audit_trail_{fields.Datetime.now():%Y%m%d_%H%M%S}.json",
            "raw": content,
            "mimetype": "application/json",
            "res_model": self._name,
            "res_id": export.id,
        })
        cr.execute(SQL(
            """UPDATE sales_document_audit_export
                  SET last_log_id = %s, row_count = %s, checkpoint_count = %s, verified = %s, anchors_checked = %s,
                      verification = %s, attachment_id = %s, sha256 = %s
                WHERE id = %s""",
            max((row["id"] for row in rows), default=0), len(rows), len(checkpoints), result["ok"],
            result["anchors_checked"], json.dumps(result, default=str, indent=1), attachment.id,
            hashlib.sha256(content).hexdigest(), export.id,
        ))
        export.invalidate_recordset()
        return export

    def action_download(self):
        """Download the exported file."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self.attachment_id.id}?download=true",
            "target": "self",
        }

    # ------------------------------------------------------------------
    # Uninstallation guard
    # ------------------------------------------------------------------

    @api.model
    def _sd_uninstall_blocker(self):
        """Why the audit addon may not be uninstalled now, or False."""
        cr = self.env.cr
        cr.execute(SQL(
            """SELECT last_log_id, verified, anchors_checked FROM sales_document_audit_export
                ORDER BY id DESC LIMIT 1"""
        ))
        last = cr.dictfetchone()
        cr.execute(SQL("SELECT max(id) FROM sales_document_audit_log"))
        newest = cr.fetchone()[0] or 0
        if not newest:
            return False
        if not last or last["last_log_id"] < newest:
            return _(
                "The audit trail holds entries that were never exported. Export the trail first "
                "(Audit > Trail exports > Export the trail), then uninstall."
            )
        anchored = bool(self.env["sales.document.audit.checkpoint"]._sd_anchor_stores())
        if not last["verified"] or (anchored and not last["anchors_checked"]):
            return _(
                "The last export of the audit trail was not verified intact against the anchors. "
                "Investigate the broken trail before uninstalling."
            )
        return False
