from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

# References other documents must not share: dropped when the original still exists.
UNIQUE_REFERENCES = {"sale.order": ("client_order_ref",), "account.move": ("ref",)}
# Line fields copied back, per restorable model: (lines field, header fields, line fields)
RESTORABLE = {
    "sale.order": (
        "order_line",
        ("partner_id", "partner_invoice_id", "partner_shipping_id", "client_order_ref", "pricelist_id",
         "payment_term_id", "user_id", "team_id", "currency_id", "fiscal_position_id", "note", "tag_ids",
         "carrier_id", "preferred_payment_method_line_id"),
        ("product_id", "name", "product_uom_qty", "product_uom", "price_unit", "discount", "tax_id",
         "display_type", "sequence"),
    ),
    "account.move": (
        "invoice_line_ids",
        ("move_type", "partner_id", "ref", "currency_id", "journal_id", "invoice_payment_term_id",
         "fiscal_position_id", "narration", "invoice_user_id", "preferred_payment_method_line_id"),
        ("product_id", "name", "quantity", "product_uom_id", "price_unit", "discount", "tax_ids",
         "account_id", "display_type", "sequence"),
    ),
}


class SalesDocumentBackupJournalRestore(models.TransientModel):
    """Restore one document from the journal as a new draft."""

    _name = "sales.document.backup.journal.restore"
    _description = "Restore a Document from the Journal"

    journal_id = fields.Many2one(
        "sales.document.backup.journal", string="Journal Entry", required=True,
        domain=[("state", "=", "sent"), ("res_model", "in", list(RESTORABLE))],
    )
    res_model = fields.Char(related="journal_id.res_model")
    document_name = fields.Char(related="journal_id.name")
    event = fields.Selection(related="journal_id.event")
    mode = fields.Selection([("draft", "As a new draft")], required=True, default="draft")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "sales.document.backup.journal" and self.env.context.get("active_id"):
            values.setdefault("journal_id", self.env.context["active_id"])
        return values

    def action_restore(self):
        """Fetch the snapshot from a destination, verify it and create the draft."""
        self.ensure_one()
        entry = self.journal_id
        if entry.res_model not in RESTORABLE:
            raise UserError(_("Only sales orders, invoices and credit notes can be restored as drafts."))
        snapshot = entry._load_from_destination()
        record = self._create_draft(entry.res_model, snapshot)
        record.message_post(
            body=_(
                "Restored as a new draft from the document journal (entry %(entry)s of %(name)s, "
                "snapshot SHA-256 %(sha)s) by %(user)s.",
                entry=entry.sequence, name=entry.name, sha=entry.sha256, user=self.env.user.name,
            )
        )
        entry.backup_id.message_post(
            body=_("%(user)s restored %(name)s from this journal batch as %(new)s.",
                   user=self.env.user.name, name=entry.name, new=record.display_name)
        )
        return {"type": "ir.actions.act_window", "res_model": record._name, "res_id": record.id, "view_mode": "form"}

    def _convert(self, model, names, values):
        """Snapshot values to create values, dropping references that no longer exist."""
        result = {}
        Model = self.env[model]
        for name in names:
            if name not in values or name not in Model._fields:
                continue
            field, value = Model._fields[name], values[name]
            if field.type == "many2one":
                if not value:
                    continue
                target_id = value[0] if isinstance(value, list) else value
                target = self.env[field.comodel_name].browse(target_id).exists()
                if not target:
                    continue
                value = target.id
            elif field.type == "many2many":
                value = [Command.set(self.env[field.comodel_name].browse(value or []).exists().ids)]
            result[name] = value
        return result

    def _create_draft(self, model, snapshot):
        lines_field, header, line_fields = RESTORABLE[model]
        values = self._convert(model, header, snapshot["fields"])
        if self.env[model].browse(snapshot["fields"]["id"]).exists():
            # The original is still there: a copy with the same customer
            # reference would be refused as a duplicate.
            for name in UNIQUE_REFERENCES.get(model, ()):
                values.pop(name, None)
        if not values.get("partner_id"):
            raise UserError(_("The customer of this document no longer exists; it cannot be restored."))
        line_model = self.env[model]._fields[lines_field].comodel_name
        values[lines_field] = [
            Command.create(self._convert(line_model, line_fields, line)) for line in snapshot.get("lines", [])
        ]
        return self.env[model].create(values)
