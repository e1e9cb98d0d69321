from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import LazyTranslate

_lt = LazyTranslate(__name__)

# The trace of a restore, one whole sentence per mode: on the restored
# document, and on the journal batch it came from.
RESTORE_NOTES = {
    "draft": (
        _lt("Restored from the document journal (as a new draft) by %(user)s: entry %(entry)s of %(name)s, "
            "snapshot SHA-256 %(sha)s."),
        _lt("%(user)s restored %(name)s from this journal batch as a new draft, %(new)s."),
    ),
    "in_place": (
        _lt("Restored from the document journal (back in place) by %(user)s: entry %(entry)s of %(name)s, "
            "snapshot SHA-256 %(sha)s."),
        _lt("%(user)s restored %(name)s from this journal batch back in place, as %(new)s."),
    ),
}

# References other documents must not share: dropped when the original still exists.
UNIQUE_REFERENCES = {"sale.order": ("client_order_ref",), "account.move": ("ref",)}
# Per restorable model: (lines field, header fields, line fields) copied from the snapshot.
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
    "stock.picking": (
        "move_ids",
        ("partner_id", "picking_type_id", "location_id", "location_dest_id", "origin", "carrier_id",
         "scheduled_date", "move_type", "note"),
        # The moves' procurement group ties the delivery to its order.
        ("name", "product_id", "product_uom_qty", "product_uom", "location_id", "location_dest_id",
         "group_id", "sale_line_id", "description_picking", "sequence"),
    ),
    "account.payment": (
        None,
        ("payment_type", "partner_type", "partner_id", "amount", "currency_id", "date", "journal_id",
         "payment_method_line_id", "partner_bank_id", "memo"),
        (),
    ),
}
# Header fields an in-place restore leaves as they are on the document.
KEPT_IN_PLACE = {"account.move": ("move_type", "journal_id")}
# Models that can be put back in place (the others only as a new draft).
IN_PLACE_MODELS = ("sale.order", "account.move")


class SalesDocumentBackupJournalRestore(models.TransientModel):
    """Restore one document from the journal, as a new draft or back in place.

    The snapshot is always fetched from a destination and verified (archive
    checksum, decryption, hash chain, snapshot hash) before anything is
    written. Every restore is recorded: on the journal entry, in the chatter
    of the document and of the journal batch, and, when the audit addon is
    installed, in the document's audit row (``restored_from``).
    """

    _name = "sales.document.backup.journal.restore"
    _description = "Restore a Document from the Journal"

    journal_id = fields.Many2one(
        "sales.document.backup.journal", string="Journal Entry", required=True,
        domain=[("state", "=", "sent"), ("res_model", "in", list(RESTORABLE))],
    )
    res_model = fields.Char(related="journal_id.res_model")
    document_name = fields.Char(related="journal_id.name")
    event = fields.Selection(related="journal_id.event")
    mode = fields.Selection(
        [("draft", "As a new draft"), ("in_place", "Back in place")], required=True, default="draft",
        help="Back in place rewrites the original document from the snapshot (or brings a deleted "
        "one back under its number), only where that is safe.",
    )
    in_place_blocker = fields.Char(
        string="Why Not in Place", compute="_compute_blockers",
        help="Why this document cannot be restored in place right now.",
    )
    draft_blocker = fields.Char(string="Why Not as a Draft", compute="_compute_blockers")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "sales.document.backup.journal" and self.env.context.get("active_id"):
            values.setdefault("journal_id", self.env.context["active_id"])
        return values

    @api.depends("journal_id")
    def _compute_blockers(self):
        for wizard in self:
            entry = wizard.journal_id
            wizard.in_place_blocker = entry and wizard._get_in_place_blocker(entry) or False
            wizard.draft_blocker = entry and wizard._get_draft_blocker(entry) or False

    # ------------------------------------------------------------
    # Action
    # ------------------------------------------------------------

    def action_restore(self):
        """Fetch the snapshot from a destination, verify it and restore the document."""
        self.ensure_one()
        entry = self.journal_id
        if entry.res_model not in RESTORABLE:
            raise UserError(_("Only orders, deliveries, invoices, credit notes and payments can be restored."))
        blocker = self._get_in_place_blocker(entry) if self.mode == "in_place" else self._get_draft_blocker(entry)
        if blocker:
            raise UserError(blocker)
        snapshot = entry._load_from_destination()
        annotation = {"restored_from": {
            "journal_entry_id": entry.id,
            "sequence": entry.sequence,
            "snapshot_sha256": entry.sha256,
            "mode": self.mode,
        }}
        if self.mode == "in_place":
            record = self._restore_in_place(entry, snapshot, annotation)
        else:
            record = self._create_draft(entry.res_model, snapshot, annotation)
        self._record_restore(entry, record)
        return {"type": "ir.actions.act_window", "res_model": record._name, "res_id": record.id, "view_mode": "form"}

    def _record_restore(self, entry, record):
        """Leave the trace of the restore on the document, the journal entry and its batch."""
        on_document, on_batch = RESTORE_NOTES[self.mode]
        record.message_post(body=self.env._(on_document) % {
            "user": self.env.user.name, "entry": entry.sequence, "name": entry.name, "sha": entry.sha256,
        })
        entry._sdb_process_write({
            "restored_by_id": self.env.uid,
            "restored_on": fields.Datetime.now(),
            "restored_res_id": record.id,
            "restored_mode": self.mode,
        })
        entry.backup_id.message_post(body=self.env._(on_batch) % {
            "user": self.env.user.name, "name": entry.name, "new": record.display_name,
        })

    # ------------------------------------------------------------
    # Safety checks
    # ------------------------------------------------------------

    def _get_original(self, entry):
        """The journaled document as it is now (archived ones included), or an empty recordset."""
        return self.env[entry.res_model].with_context(active_test=False).browse(entry.res_id).exists()

    def _get_draft_blocker(self, entry):
        """Why the entry cannot be restored as a new draft, or None."""
        if entry.res_model not in RESTORABLE:
            return _("Only orders, deliveries, invoices, credit notes and payments can be restored.")
        original = self._get_original(entry)
        if entry.res_model == "stock.picking" and original and original.state != "cancel":
            return _(
                "The delivery %(name)s still exists (%(state)s): a copy would ship the goods twice. "
                "Use its Return button to take goods back, or cancel it before restoring it.",
                name=original.name, state=self._state_label(original),
            )
        return None

    def _get_in_place_blocker(self, entry):
        """Why the entry cannot be put back in place, or None when it is safe."""
        if entry.res_model not in IN_PLACE_MODELS:
            return _("Deliveries and payments can only be restored as a new draft.")
        original = self._get_original(entry)
        if not original:
            return self._get_recreate_blocker(entry)
        if entry.res_model == "sale.order":
            return self._get_order_in_place_blocker(original)
        return self._get_invoice_in_place_blocker(original)

    def _get_recreate_blocker(self, entry):
        """A deleted order comes back under its own number, unless another order took it."""
        if entry.res_model != "sale.order":
            return None
        name = entry._get_local_snapshot().get("fields", {}).get("name")
        taken = name and self.env["sale.order"].with_context(active_test=False).search(
            [("name", "=", name), ("company_id", "=", entry.company_id.id)], limit=1
        )
        if taken:
            return _(
                "The deleted order's number %(name)s is used by another order: restore it as a new draft.",
                name=name,
            )
        return None

    def _get_order_in_place_blocker(self, order):
        if order.state not in ("draft", "sent", "cancel"):
            return _(
                "%(name)s is a confirmed order (%(state)s): rewriting it could contradict its deliveries "
                "and invoices. Cancel it first, or restore the snapshot as a new draft.",
                name=order.name, state=self._state_label(order),
            )
        # sudo: every downstream document counts, whoever restores the order.
        order = order.sudo()
        downstream = order.picking_ids.filtered(lambda p: p.state != "cancel").mapped("name")
        downstream += order.invoice_ids.filtered(lambda m: m.state != "cancel").mapped("name")
        if downstream:
            return _(
                "%(name)s still has deliveries or invoices that are not cancelled (%(documents)s): "
                "restore the snapshot as a new draft instead.",
                name=order.name, documents=", ".join(downstream),
            )
        return None

    def _get_invoice_in_place_blocker(self, move):
        if move.state == "draft":
            return None
        if move.state == "posted":
            return _(
                "%(name)s is posted: a posted invoice is never rewritten. Issue a credit note, or restore "
                "the snapshot as a new draft.",
                name=move.name,
            )
        return _(
            "%(name)s is cancelled: reset it to draft first, or restore the snapshot as a new draft.",
            name=move.name,
        )

    @api.model
    def _state_label(self, record):
        return dict(record._fields["state"]._description_selection(self.env)).get(record.state, record.state)

    # ------------------------------------------------------------
    # Writing
    # ------------------------------------------------------------

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

    def _prepare_values(self, model, snapshot):
        """Header and line values of ``model`` from the snapshot."""
        lines_field, header, line_fields = RESTORABLE[model]
        values = self._convert(model, header, snapshot["fields"])
        if not values.get("partner_id"):
            raise UserError(_("The customer of this document no longer exists; it cannot be restored."))
        lines = []
        if lines_field:
            line_model = self.env[model]._fields[lines_field].comodel_name
            lines = [self._convert(line_model, line_fields, line) for line in snapshot.get("lines", [])]
        return values, lines_field, lines

    @api.model
    def _annotate_restore(self, record, annotation):
        """Hook: tell whoever records the history of ``record`` where it came from.

        ``annotation`` is ``{"restored_from": {...}}``. Nothing by default; the
        audit bridge puts it in the document's audit row. A private method:
        no client can call it, and no context key does the same.
        """
        return None

    def _create_draft(self, model, snapshot, annotation):
        values, lines_field, lines = self._prepare_values(model, snapshot)
        if self.env[model].browse(snapshot["fields"]["id"]).exists():
            # The original is still there: a copy with the same customer
            # reference would be refused as a duplicate.
            for name in UNIQUE_REFERENCES.get(model, ()):
                values.pop(name, None)
        if lines_field:
            values[lines_field] = [Command.create(line) for line in lines]
        record = self.env[model].create(values)
        # Right after the create, in its transaction: the annotation joins the
        # pending create row of the audit trail, written at commit.
        self._annotate_restore(record, annotation)
        return record

    def _restore_in_place(self, entry, snapshot, annotation):
        """Rewrite the original from the snapshot, or bring a deleted one back."""
        model = entry.res_model
        values, lines_field, lines = self._prepare_values(model, snapshot)
        original = self._get_original(entry)
        if not original:
            if model == "sale.order":
                values["name"] = snapshot["fields"]["name"]
            values[lines_field] = [Command.create(line) for line in lines]
            record = self.env[model].create(values)
            self._annotate_restore(record, annotation)
            return record
        # Before the first write (unarchive, back to draft, rewrite): they all
        # end in the one audit row of this transaction, annotated.
        self._annotate_restore(original, annotation)
        if model == "sale.order":
            if not original.active:
                original.action_unarchive()
            if original.state != "draft":
                original.action_draft()
        for name in KEPT_IN_PLACE.get(model, ()):
            values.pop(name, None)
        values[lines_field] = [Command.delete(line.id) for line in original[lines_field]]
        values[lines_field] += [Command.create(line) for line in lines]
        original.write(values)
        # Again after the writes (same annotation, merged): it holds whether the
        # audit trail takes annotations before its row exists or only after.
        self._annotate_restore(original, annotation)
        return original
