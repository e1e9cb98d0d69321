from markupsafe import Markup

from odoo import _, api, fields, models


class SalesDocumentFlow(models.TransientModel):
    """The chain of documents around one sales document.

    order -> deliveries and returns -> invoices and credit notes -> payments,
    at document level and per order line (order line -> stock moves ->
    invoice lines -> payments reconciled with those invoices).
    """

    _name = "sales.document.flow"
    _description = "Sales Document Flow"

    res_model = fields.Char(required=True, readonly=True)
    res_id = fields.Integer(required=True, readonly=True)
    name = fields.Char(compute="_compute_html")
    html = fields.Html(string="Document flow", compute="_compute_html", sanitize=False)

    @api.depends("res_model", "res_id")
    def _compute_html(self):
        for flow in self:
            record = self.env[flow.res_model].browse(flow.res_id).exists()
            data = self._get_flow_data(record) if record else {"orders": [], "orphans": []}
            flow.name = _("Document flow of %(document)s", document=record.display_name or "")
            flow.html = Markup(self.env["ir.qweb"]._render(
                "sales_document_registry.sales_document_flow_content", {"flow": data, "origin": record},
            ))

    @api.model
    def _action_open(self, record):
        """Action opening the flow of ``record`` (a record, hence private) in a dialog."""
        record.ensure_one()
        record.check_access("read")
        flow = self.create({"res_model": record._name, "res_id": record.id})
        return {
            "type": "ir.actions.act_window",
            "name": flow.name,
            "res_model": self._name,
            "res_id": flow.id,
            "view_mode": "form",
            "views": [(self.env.ref("sales_document_registry.sales_document_flow_view_form").id, "form")],
            "target": "new",
            "context": {"dialog_size": "extra-large"},
        }

    # ------------------------------------------------------------------
    # Flow data (plain dictionaries, rendered by the QWeb template)
    # ------------------------------------------------------------------

    @api.model
    def _get_orders(self, record):
        """Orders ``record`` belongs to."""
        if record._name == "sale.order":
            return record
        if record._name == "stock.picking":
            return record.sale_id
        if record._name == "account.move":
            return record.invoice_line_ids.sale_line_ids.order_id
        if record._name == "account.payment":
            invoices = record.invoice_ids | record.reconciled_invoice_ids
            return invoices.invoice_line_ids.sale_line_ids.order_id
        return self.env["sale.order"]

    @api.model
    def _get_flow_data(self, record):
        orders = self._get_orders(record)
        data = {"orders": [self._order_data(order) for order in orders.sorted("id")], "orphans": []}
        if not orders:
            # An invoice or payment without an order: show what is around it.
            invoices = record if record._name == "account.move" else (
                record.invoice_ids | record.reconciled_invoice_ids
            ) if record._name == "account.payment" else self.env["account.move"]
            data["orphans"] = [self._invoice_data(inv) for inv in invoices]
        return data

    @api.model
    def _doc(self, record, state_field="state", amount=None, currency=None):
        selection = dict(record._fields[state_field]._description_selection(self.env))
        return {
            "model": record._name,
            "id": record.id,
            "name": record.display_name,
            "state": selection.get(record[state_field], record[state_field]),
            "amount": amount,
            "currency": currency,
            "url": f"/odoo/{record._name}/{record.id}",
        }

    @api.model
    def _order_data(self, order):
        pickings = order.picking_ids.sorted("id")
        invoices = order.invoice_ids.sorted("id")
        invoice_data = [self._invoice_data(inv) for inv in invoices]
        payments = {}
        for inv in invoice_data:
            for pay in inv["payments"]:
                payments.setdefault(pay["id"], pay)
        return {
            "doc": self._doc(order, amount=order.amount_total, currency=order.currency_id),
            "deliveries": [
                dict(
                    self._doc(p, amount=p.sd_amount_total, currency=p.sd_currency_id),
                    is_return=p.picking_type_code == "incoming",
                )
                for p in pickings
            ],
            "invoices": invoice_data,
            "payments": list(payments.values()),
            "lines": [self._line_data(line) for line in order.order_line if not line.display_type],
        }

    @api.model
    def _invoice_data(self, invoice):
        doc = self._doc(invoice, amount=invoice.amount_total, currency=invoice.currency_id)
        doc["is_credit_note"] = invoice.move_type == "out_refund"
        doc["payment_state"] = dict(
            invoice._fields["payment_state"]._description_selection(self.env)
        ).get(invoice.payment_state)
        doc["payments"] = []
        if invoice.state == "posted":
            # sudo: reconciliation partials are accounting data; the flow shows only documents the user may read.
            for partial in invoice.sudo()._get_all_reconciled_invoice_partials():
                counterpart = partial["aml"].move_id
                source = counterpart.origin_payment_id or counterpart
                entry = self._doc(source, amount=partial["amount"], currency=partial["currency"])
                entry["invoice_id"] = invoice.id
                doc["payments"].append(entry)
        return doc

    @api.model
    def _line_data(self, line):
        moves = line.move_ids.filtered(lambda m: m.state != "cancel").sorted("id")
        inv_lines = line.invoice_lines.filtered(lambda aml: aml.move_id.state != "cancel")
        return {
            "product": line.product_id.display_name or line.name,
            "ordered": line.product_uom_qty,
            "delivered": line.qty_delivered,
            "invoiced": line.qty_invoiced,
            "uom": line.product_uom.name,
            "moves": [
                {
                    "picking": m.picking_id.name or m.reference,
                    "qty": m.quantity if m.state == "done" else m.product_uom_qty,
                    "state": dict(m._fields["state"]._description_selection(self.env)).get(m.state),
                    "is_return": m.location_dest_id.usage == "internal",
                    "url": f"/odoo/stock.picking/{m.picking_id.id}" if m.picking_id else False,
                }
                for m in moves
            ],
            "invoice_lines": [
                {
                    "move": aml.move_id.name or _("Draft"),
                    "qty": aml.quantity,
                    "subtotal": aml.price_subtotal,
                    "currency": aml.currency_id,
                    "is_credit_note": aml.move_id.move_type == "out_refund",
                    "url": f"/odoo/account.move/{aml.move_id.id}",
                    "payments": ", ".join(
                        p.name for p in aml.move_id._get_reconciled_payments() if p.name
                    ),
                }
                for aml in inv_lines
            ],
        }
