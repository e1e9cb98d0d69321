from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL


class SalesDocumentAuditAnchor(models.Model):
    """Where and when a signed checkpoint was written outside the database.

    Written by the anchoring job only (raw SQL); the database refuses any
    UPDATE or DELETE. The anchor store itself is the proof: these rows only
    tell the user where to find it.
    """

    _name = "sales.document.audit.anchor"
    _description = "Audit Checkpoint Anchor"
    _order = "id desc"
    _log_access = False
    _rec_name = "store"

    checkpoint_id = fields.Many2one(
        "sales.document.audit.checkpoint", string="Checkpoint", required=True, readonly=True, index=True,
        ondelete="restrict",
    )
    company_id = fields.Many2one(related="checkpoint_id.company_id", store=True, readonly=True)
    store = fields.Char(string="Anchor store", required=True, readonly=True, index=True)
    reference = fields.Char(string="Stored as", readonly=True, help="File or object (and version) of the anchor.")
    lock_mode = fields.Char(string="Retention mode", readonly=True)
    retain_until = fields.Datetime(string="Retained until", readonly=True)
    anchored_at = fields.Datetime(string="Anchored on", readonly=True)

    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        # Written by the anchoring job only (raw SQL).
        self.browse().check_access("create")
        raise UserError(_("Anchors are recorded by the anchoring job only."))

    def write(self, vals):  # pylint: disable=method-required-super
        self.check_access("write")
        raise UserError(_("Anchors cannot be modified."))

    def unlink(self):  # pylint: disable=method-required-super
        self.check_access("unlink")
        raise UserError(_("Anchors cannot be deleted."))

    def copy(self, default=None):  # pylint: disable=method-required-super
        raise UserError(_("Anchors cannot be duplicated."))

    def init(self):
        self.env["sales.document.audit.checkpoint"]._sd_create_refuse_function()
        self.env.cr.execute(SQL(
            """
            DROP TRIGGER IF EXISTS sales_document_audit_anchor_guard ON sales_document_audit_anchor;
            CREATE TRIGGER sales_document_audit_anchor_guard
                BEFORE UPDATE OR DELETE ON sales_document_audit_anchor
                FOR EACH ROW EXECUTE FUNCTION sales_document_audit_refuse();
            """
        ))

    @api.model
    def _sd_record(self, checkpoint, store, name, where):
        """Record that ``checkpoint`` went to ``store`` (``where``: what the store answered)."""
        info = where if isinstance(where, dict) else {"key": where}
        reference = info.get("key") or ""
        if info.get("version_id"):
            reference = f"{reference} (version {info['version_id']})"
        self.env.cr.execute(SQL(
            """INSERT INTO sales_document_audit_anchor
                   (checkpoint_id, company_id, store, reference, lock_mode, retain_until, anchored_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            checkpoint.id, checkpoint.company_id.id or None, name, reference, info.get("lock_mode"),
            info.get("retain_until"), fields.Datetime.now(),
        ))
        checkpoint.invalidate_recordset(["anchor_ids", "anchor_state"])
