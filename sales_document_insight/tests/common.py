from datetime import datetime, time

from odoo import Command, fields

from odoo.addons.sales_document_registry.tests.common import SalesDocumentCase


class InsightCase(SalesDocumentCase):
    """Sales documents on chosen dates, and a team with a leader."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leader = cls._create_user("hi_leader", "Lea Leader", ["sales_team.group_sale_salesman"])
        cls.team = cls.env["crm.team"].create({
            "name": "Insight Team",
            "user_id": cls.leader.id,
            "crm_team_member_ids": [Command.create({"user_id": cls.salesman.id})],
        })

    def _confirmed_order(self, day=None, lines=None, **vals):
        """A confirmed order, dated ``day`` (its confirmation date by default)."""
        order = self._create_order(lines, **vals)
        order.action_confirm()
        if day:
            order.date_order = datetime.combine(day, time(12, 0))
        return order

    def _posted_invoice(self, order, day):
        self._deliver(order)
        invoice = order._create_invoices()
        invoice.invoice_date = day
        invoice.action_post()
        return invoice

    def _credit_note(self, invoice, quantity):
        """A posted credit note of ``quantity`` units of the invoice's first line."""
        refund = invoice._reverse_moves([{"invoice_date": invoice.invoice_date, "date": invoice.date}])
        refund.invoice_user_id = invoice.invoice_user_id
        refund.invoice_line_ids[1:].unlink()
        refund.invoice_line_ids.quantity = quantity
        refund.action_post()
        return refund

    def _payment(self, invoice, amount, day):
        ctx = {"active_model": "account.move", "active_ids": invoice.ids}
        wizard = self.env["account.payment.register"].with_context(**ctx).create({
            "amount": amount, "payment_date": day,
        })
        return wizard._create_payments()

    @staticmethod
    def _day(value):
        return fields.Date.to_date(value)
