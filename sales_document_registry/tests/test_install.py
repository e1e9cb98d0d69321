from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestRegistryInstall(TransactionCase):
    def test_salesman_reads_registry(self):
        """Salespeople, accountants and warehouse users are registry users."""
        for xmlid in ("sales_team.group_sale_salesman", "account.group_account_invoice",
                      "stock.group_stock_user"):
            user = self.env["res.users"].create({
                "name": xmlid, "login": xmlid,
                "groups_id": [(6, 0, [self.env.ref(xmlid).id])],
            })
            self.assertTrue(user.has_group("sales_document_registry.group_registry_user"), xmlid)
            self.assertFalse(user.has_group("sales_document_registry.group_registry_manager"), xmlid)
