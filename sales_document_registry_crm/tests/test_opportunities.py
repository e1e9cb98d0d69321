from odoo import Command
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.sales_document_registry.tests.common import SalesDocumentCase

NO_DIFFERENCE = {"rows": 0, "tags": 0, "products": 0, "summary": 0}


@tagged("post_install", "-at_install")
class TestOpportunities(SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tag = cls.env["crm.tag"].create({"name": "Trade fair"})

    def _opportunity(self, **vals):
        return self.env["crm.lead"].create({
            "name": "Fit-out of the new plant",
            "type": "opportunity",
            "partner_id": self.customer_contact.id,
            "user_id": self.salesman.id,
            "expected_revenue": 12000.0,
            **vals,
        })

    def _row(self, record):
        self.env.flush_all()
        # Registry rows are written by the database: forget what was read before.
        self.env.invalidate_all()
        return self.env["sales.document"].with_context(active_test=False).search([
            ("res_model", "=", record._name), ("res_id", "=", record.id),
        ])

    def test_opportunity_is_a_registry_row(self):
        """An opportunity shows with its customer, amount, tags and status; a lead does not."""
        opportunity = self._opportunity(tag_ids=[Command.set(self.tag.ids)])
        lead = self.env["crm.lead"].create({"name": "Cold contact", "type": "lead", "partner_id": self.customer.id})
        row = self._row(opportunity)
        self.assertEqual(row.doc_type, "opportunity")
        self.assertEqual(row.partner_id, self.customer, "the commercial partner of the contact")
        self.assertEqual(row.amount_total, 12000.0)
        self.assertEqual(row.state, "open")
        self.assertEqual(row.tag_ids, self.tag)
        self.assertFalse(self._row(lead))
        # Converting the lead into an opportunity brings it in.
        lead.type = "opportunity"
        self.assertTrue(self._row(lead))
        opportunity.action_set_won()
        self.assertEqual(self._row(opportunity).state, "done")
        other = self._opportunity(name="Lost one")
        other.action_set_lost()
        row = self._row(other)
        self.assertEqual((row.state, row.active), ("cancelled", False))
        self.assertEqual(self.env["sales.document"]._store_differences(), NO_DIFFERENCE)

    def test_customer_history_and_flow(self):
        """The customer's history holds the opportunity and the order made from it; the flow links them."""
        opportunity = self._opportunity()
        order = self._create_order(opportunity_id=opportunity.id)
        order.action_confirm()
        self.env.flush_all()
        action = self.env["sales.document"].action_open_for_partner(self.customer.ids)
        history = self.env["sales.document"].search(action["domain"])
        self.assertIn("opportunity", history.mapped("doc_type"))
        self.assertIn(order.id, history.filtered(lambda row: row.res_model == "sale.order").mapped("res_id"))
        flow = self.env["sales.document.flow"]._action_open(opportunity)
        html = self.env["sales.document.flow"].browse(flow["res_id"]).html
        self.assertIn(order.name, html)
        groups = self.env["sales.document"].read_group([], ["__count"], ["doc_type"], lazy=False)
        self.assertIn("opportunity", [group["doc_type"] for group in groups])

    def test_rows_follow_crm_record_rules(self):
        """A salesperson sees their own opportunities in the registry, not a colleague's."""
        mine = self._opportunity()
        theirs = self._opportunity(name="Colleague's deal", user_id=self.salesman_2.id)
        self.env.flush_all()
        visible = self.env["sales.document"].with_user(self.salesman).search([("doc_type", "=", "opportunity")])
        self.assertIn(mine.id, visible.mapped("res_id"))
        self.assertNotIn(theirs.id, visible.mapped("res_id"))

    def test_uninstall_takes_only_the_opportunities_out(self):
        """The uninstall hook removes the opportunities' rows, tags and triggers; orders stay."""
        from .. import uninstall_hook

        opportunity = self._opportunity(tag_ids=[Command.set(self.tag.ids)])
        order = self._create_order(opportunity_id=opportunity.id)
        order.tag_ids = self.tag
        self.assertTrue(self._row(opportunity))
        uninstall_hook(self.env)
        Document = self.env["sales.document"].with_context(active_test=False)
        self.assertFalse(Document.search_count([("doc_type", "=", "opportunity")]))
        self.assertEqual(self._row(order).tag_ids, self.tag, "the order keeps its row and its tags")
        self.env.cr.execute(SQL(
            "SELECT count(*) FROM sales_document_row_tag t LEFT JOIN sales_document_row r ON r.id = t.document_id "
            "WHERE r.id IS NULL"
        ))
        self.assertEqual(self.env.cr.fetchone()[0], 0, "no tag is left without its row")
        self.env.cr.execute(SQL(
            "SELECT doc_type FROM sales_document_row_stat WHERE doc_type = 'opportunity' GROUP BY doc_type "
            "HAVING sum(doc_count) <> 0"
        ))
        self.assertFalse(self.env.cr.fetchall(), "the summary no longer counts opportunities")
        # The triggers went with them: a new opportunity is no longer registered.
        self.assertFalse(self._row(self._opportunity(name="After uninstall")))
        self.env.cr.execute(SQL("SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s", "sd_sync_crm_%"))
        self.assertEqual(self.env.cr.fetchone()[0], 0)
