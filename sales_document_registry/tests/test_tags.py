from odoo.tests import tagged

from .common import SalesDocumentCase


@tagged("post_install", "-at_install")
class TestTags(SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tag_vip = cls.env["crm.tag"].create({"name": "VIP"})
        cls.tag_export = cls.env["crm.tag"].create({"name": "Export"})
        cls.tag_big = cls.env["crm.tag"].create({"name": "Big deal"})

    def test_order_tags_follow_to_every_document(self):
        order, invoice, payment = self._full_flow(tag_ids=[(6, 0, self.tag_vip.ids)])
        self.assertEqual(order.picking_ids.tag_ids, self.tag_vip)
        self.assertEqual(invoice.tag_ids, self.tag_vip)
        self.assertEqual(payment.tag_ids, self.tag_vip)
        # later changes follow too: one tag added, one removed
        order.tag_ids = [(4, self.tag_export.id), (3, self.tag_vip.id)]
        for record in (order.picking_ids, invoice, payment):
            self.assertEqual(record.tag_ids, self.tag_export, record._name)
        self.env.flush_all()
        rows = self.env["sales.document"].search([("tag_ids", "in", self.tag_export.ids)])
        self.assertEqual(
            set(rows.mapped("doc_type")), {"order", "delivery", "invoice", "payment"}
        )
        self.assertFalse(self.env["sales.document"].search([
            ("tag_ids", "in", self.tag_vip.ids), ("sale_order_id", "=", order.id)
        ]))
        groups = self.env["sales.document"].read_group(
            [("sale_order_id", "=", order.id)], ["amount_total:sum"], ["tag_ids"]
        )
        self.assertEqual(groups[0]["tag_ids"][0], self.tag_export.id)
        self.assertEqual(groups[0]["tag_ids_count"], 4)

    def test_auto_tag_rule_on_creation_and_change(self):
        self.env["sales.document.tag.rule"].create({
            "name": "Big orders",
            "doc_type": "order",
            "domain": "[('amount_untaxed', '>=', 1000)]",
            "tag_ids": [(6, 0, self.tag_big.ids)],
        })
        self.env["sales.document.tag.rule"].create({
            "name": "Big invoices",
            "doc_type": "invoice",
            "domain": "[('amount_untaxed', '>=', 1000)]",
            "tag_ids": [(6, 0, self.tag_big.ids)],
        })
        small = self._create_order(lines=[(self.product, 1)])
        self.assertFalse(small.tag_ids)
        big = self._create_order(lines=[(self.product, 20)])
        self.assertEqual(big.tag_ids, self.tag_big)
        # change: the small order grows past the threshold
        small.order_line.product_uom_qty = 15
        self.assertEqual(small.tag_ids, self.tag_big)
        # a manually tagged order keeps its own tags as well
        big.tag_ids = [(4, self.tag_vip.id)]
        self.assertEqual(big.tag_ids, self.tag_big | self.tag_vip)
        # invoices get the tag of their own rule (and of the order)
        big.action_confirm()
        self._deliver(big)
        invoice = self._invoice(big, post=False)
        self.assertIn(self.tag_big, invoice.tag_ids)

    def test_auto_tag_rule_changes_apply_at_once(self):
        """Rules are cached per model: creating, archiving or editing one takes effect on the next write."""
        first = self._create_order(lines=[(self.product, 1)])
        self.assertFalse(first.tag_ids)  # no rule yet: the empty rule set is cached
        rule = self.env["sales.document.tag.rule"].create({
            "name": "Every order", "doc_type": "order", "domain": "[]", "tag_ids": [(6, 0, self.tag_vip.ids)],
        })
        self.assertEqual(self._create_order(lines=[(self.product, 1)]).tag_ids, self.tag_vip)
        rule.tag_ids = [(6, 0, self.tag_export.ids)]
        self.assertEqual(self._create_order(lines=[(self.product, 1)]).tag_ids, self.tag_export)
        rule.active = False
        self.assertFalse(self._create_order(lines=[(self.product, 1)]).tag_ids)
        # Archived rules stay out even for a caller that sees archived records.
        self.assertFalse(self._create_order(lines=[(self.product, 1)]).with_context(active_test=False).tag_ids)
        order = self.env["sale.order"].with_context(active_test=False).create(self._order_vals([(self.product, 1)]))
        self.assertFalse(order.tag_ids)

    def test_invalid_auto_tag_domain_is_refused(self):
        from odoo.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            self.env["sales.document.tag.rule"].create({
                "name": "Broken", "doc_type": "order", "domain": "[('nope', '=', 1)]",
                "tag_ids": [(6, 0, self.tag_big.ids)],
            })
