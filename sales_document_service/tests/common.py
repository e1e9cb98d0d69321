"""Shared set-up for the service request tests."""

from odoo import Command

from odoo.addons.sales_document_audit.tests.common import AuditCase


class ServiceCase(AuditCase):
    """A customer with a portal contact, a confirmed order of theirs, and a user per role."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Request = cls.env["sales.service.request"]
        cls.stage_new = cls.env.ref("sales_document_service.sales_service_stage_new")
        cls.stage_progress = cls.env.ref("sales_document_service.sales_service_stage_in_progress")
        cls.stage_done = cls.env.ref("sales_document_service.sales_service_stage_done")
        cls.stage_cancelled = cls.env.ref("sales_document_service.sales_service_stage_cancelled")
        cls.service_user = cls._create_user(
            "sd_service", "Selma Service", ["sales_document_service.group_service_user"]
        )
        cls.auditor = cls._create_user("sd_auditor", "Aldo Auditor", ["sales_document_audit.group_auditor"])
        cls.portal_user = cls._create_portal_user("sd_portal", cls.customer_contact)
        cls.other_contact = cls.env["res.partner"].create({
            "name": "Otto Other", "parent_id": cls.other_customer.id, "type": "contact", "email": "otto@example.com",
        })
        cls.other_portal_user = cls._create_portal_user("sd_portal2", cls.other_contact)

    @classmethod
    def _create_portal_user(cls, login, partner):
        partner.email = partner.email or f"{login}@example.com"
        return cls.env["res.users"].with_context(no_reset_password=True).create({
            "login": login,
            "password": login,
            "partner_id": partner.id,
            "groups_id": [Command.set([cls.env.ref("base.group_portal").id])],
        })

    def _confirmed_order(self, partner=None, user=None):
        """A confirmed order the customer (and so their portal contacts) can see in the portal."""
        partner = partner or self.customer
        salesman = user or partner.user_id
        order = self._create_order(partner_id=partner.id, user_id=salesman.id)
        order.action_confirm()
        order.message_subscribe(partner_ids=partner.ids)
        return order

    def _request(self, order=None, **vals):
        order = order or self._confirmed_order()
        return self.Request.create({
            "partner_id": order.partner_id.id,
            "sale_order_id": order.id,
            "request_type": "complaint",
            "description": "The widget arrived scratched.",
            **vals,
        })

    def _row(self, record):
        self.env.flush_all()
        # Registry rows are written by the database: forget what was read before.
        self.env.invalidate_all()
        return self.env["sales.document"].with_context(active_test=False).search([
            ("res_model", "=", record._name), ("res_id", "=", record.id),
        ])
