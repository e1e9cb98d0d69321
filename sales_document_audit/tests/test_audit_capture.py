from contextlib import contextmanager
from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from ..models.sales_document_audit_mixin import PROFILES_KEY, audit_value
from .common import AuditCase


@tagged("post_install", "-at_install")
class TestAuditCapture(AuditCase):
    def test_create_is_one_row_per_document_with_its_lines(self):
        order = self._create_order([(self.product, 2.0), (self.product_2, 1.0)])
        self._commit_point()
        logs = self._logs(order)
        self.assertEqual(len(logs), 1, "one row per document per transaction")
        self.assertEqual(logs.operation, "create")
        self.assertEqual(logs.user_id, self.env.user)
        self.assertEqual(logs.company_id, self.company)
        changes = self._changes(logs)
        self.assertEqual(changes["fields"]["partner_id"][1][0], self.customer.id)
        self.assertEqual(changes["fields"]["partner_id"][1][1], self.customer.display_name)
        self.assertEqual(len(changes["lines"]), 2)
        self.assertEqual({line["operation"] for line in changes["lines"]}, {"create"})
        self.assertFalse(self._logs(order.order_line), "lines roll up to the order")

    def test_write_records_old_and_new_values_once_per_transaction(self):
        order = self._create_order()
        self._commit_point()
        order.client_order_ref = "PO-1"
        order.client_order_ref = "PO-2"
        order.order_line.product_uom_qty = 5
        self._commit_point()
        logs = self._logs(order, "write")
        self.assertEqual(len(logs), 1)
        changes = self._changes(logs)
        self.assertEqual(changes["fields"]["client_order_ref"], [False, "PO-2"])
        self.assertGreater(changes["fields"]["amount_total"][1], changes["fields"]["amount_total"][0])
        line = changes["lines"][0]
        self.assertEqual(line["operation"], "write")
        self.assertEqual(line["fields"]["product_uom_qty"], [2.0, 5.0])

    def test_noop_write_and_unaudited_fields_leave_no_row(self):
        order = self._create_order()
        self._commit_point()
        order.client_order_ref = order.client_order_ref
        order.write({"origin": "not audited"})
        self._commit_point()
        self.assertFalse(self._logs(order, "write"))

    def test_state_change_and_unlink(self):
        order = self._create_order()
        self._commit_point()
        order.action_cancel()
        self._commit_point()
        log = self._logs(order, "write")
        self.assertEqual(self._changes(log)["fields"]["state"], ["draft", "cancel"])
        order.order_line[:1].unlink()
        self._commit_point()
        log = self._logs(order, "write")[-1]
        self.assertEqual(self._changes(log)["lines"][0]["operation"], "unlink")
        self.assertEqual(self._changes(log)["lines"][0]["fields"]["product_id"][0][0], self.product.id)

    def test_unlink_of_a_draft_invoice(self):
        order = self._create_order()
        order.action_confirm()
        self._deliver(order)
        invoice = self._invoice(order, post=False)
        self._commit_point()
        invoice_id, invoice_name = invoice.id, invoice.display_name
        invoice.unlink()
        self._commit_point()
        log = self.Log.search([("res_model", "=", "account.move"), ("res_id", "=", invoice_id)], order="id desc", limit=1)
        self.assertEqual(log.operation, "unlink")
        self.assertEqual(log.res_name, invoice_name)
        self.assertEqual(self._changes(log)["fields"]["partner_id"][0][0], self.customer.id)

    def test_audited_fields_are_configurable(self):
        rule = self.env["sales.document.audit.rule"].search([("model", "=", "sale.order")])
        self.assertTrue(rule, "a default rule per audited model is installed")
        ref_field = self.env["ir.model.fields"]._get("sale.order", "client_order_ref")
        rule.field_ids = [Command.unlink(ref_field.id)]
        order = self._create_order()
        self._commit_point()
        order.client_order_ref = "PO-9"
        self._commit_point()
        self.assertFalse(self._logs(order, "write"))
        self.assertNotIn("client_order_ref", self.env["sale.order"]._audit_fields())

    def test_rule_change_applies_within_the_transaction(self):
        # The capture keeps each model's audited fields for the transaction:
        # a rule changed in it must not leave the next write on the old list.
        rule = self.env["sales.document.audit.rule"].search([("model", "=", "sale.order")])
        ref_field = self.env["ir.model.fields"]._get("sale.order", "client_order_ref")
        order = self._create_order()
        self._commit_point()
        self.assertIn("client_order_ref", self.env["sale.order"]._audit_fields())
        rule.field_ids = [Command.unlink(ref_field.id)]
        self.assertNotIn("client_order_ref", self.env["sale.order"]._audit_fields())
        order.client_order_ref = "PO-10"
        self._commit_point()
        self.assertFalse(self._logs(order, "write"))
        rule.field_ids = [Command.link(ref_field.id)]
        order.client_order_ref = "PO-11"
        self._commit_point()
        self.assertEqual(self._changes(self._logs(order, "write")[-1])["fields"]["client_order_ref"], ["PO-10", "PO-11"])

    def test_request_context_outside_requests(self):
        order = self._create_order()
        self._commit_point()
        log = self._logs(order)
        self.assertFalse(log.ip_address)
        self.assertEqual(log.device, "system")

    def test_full_flow_audits_every_document_type(self):
        order, invoice, payment = self._full_flow()
        self._commit_point()
        self.assertTrue(self._logs(order))
        self.assertTrue(self._logs(order.picking_ids))
        self.assertTrue(self._logs(invoice))
        self.assertTrue(self._logs(payment))
        picking_changes = [self._changes(log) for log in self._logs(order.picking_ids)]
        self.assertTrue(any(ch.get("lines") for ch in picking_changes), "stock moves roll up to the picking")
        # Journal entries that are not customer invoices are not audited.
        entries = payment.move_id
        self.assertFalse(self._logs(entries))

    def test_no_regression_credit_note_and_payment(self):
        order, invoice, payment = self._full_flow()
        self.assertIn(invoice.payment_state, ("in_payment", "paid"))
        reversal = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"reason": "Damaged", "journal_id": invoice.journal_id.id})
        action = reversal.refund_moves()
        credit_note = self.env["account.move"].browse(action["res_id"])
        credit_note.action_post()
        self._commit_point()
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.state, "posted")
        self.assertEqual(self._logs(credit_note)[:1].operation, "create")
        self.assertIn(payment.state, ("paid", "in_process"))


@tagged("post_install", "-at_install")
class TestAuditCaptureExactRows(AuditCase):
    """The rows the capture writes, exactly: what is left out of a snapshot
    must never hide a change."""

    def _fresh(self, records):
        """``records`` as a new request sees them: committed, nothing in cache."""
        self._commit_point()
        self.env.invalidate_all()
        return records

    def test_single_field_write_is_exactly_one_row_with_that_field(self):
        order = self._fresh(self._create_order())
        order.write({"client_order_ref": "PO-7"})
        self._commit_point()
        log = self._logs(order, "write")
        self.assertEqual(len(log), 1)
        self.assertEqual(
            (log.res_model, log.res_id, log.res_name, log.user_id, log.company_id, log.device),
            ("sale.order", order.id, order.display_name, self.env.user, self.company, "system"),
        )
        self.assertEqual(self._changes(log), {"fields": {"client_order_ref": [False, "PO-7"]}})

    def test_single_field_write_costs_one_statement_at_commit(self):
        order = self._fresh(self._create_order())
        order.write({"client_order_ref": "PO-8"})
        self.env.flush_all()
        # As in a request that has not read the user's record: the rows name
        # their documents' company, the user's default company is not needed.
        # (An environment of its own: one that knows its company keeps it.)
        self.env["res.users"].invalidate_model()
        self.env["res.company"].invalidate_model()
        Log = self.Log.with_context(new_environment=object())
        before = self.env.cr.sql_log_count
        Log._flush_audit_buffer()
        self.assertEqual(self.env.cr.sql_log_count - before, 1, "the INSERT of the row, nothing else")
        log = self._logs(order, "write")
        self.assertEqual((log.company_id, self._changes(log)), (
            order.company_id, {"fields": {"client_order_ref": [False, "PO-8"]}},
        ))

    def test_names_of_related_records_come_from_the_cache(self):
        Partner = self.env["res.partner"]
        in_cache = Partner.create({"name": "Named in the cache"})
        in_database = Partner.create({"name": "Named in the database"})
        self.env.flush_all()
        in_database.invalidate_recordset()
        self.assertEqual(in_cache.name, "Named in the cache")
        changes = {"fields": {"partner_id": [False, in_cache.id]}}
        before = self.env.cr.sql_log_count
        self.Log._name_relational_values([("sale.order", changes)])
        self.assertEqual(self.env.cr.sql_log_count - before, 0, "a name the transaction has read costs no query")
        self.assertEqual(changes["fields"]["partner_id"], [False, [in_cache.id, "Named in the cache"]])
        changes = {"fields": {"partner_id": [in_database.id, in_cache.id]}}
        self.Log._name_relational_values([("sale.order", changes)])
        self.assertEqual(changes["fields"]["partner_id"], [
            [in_database.id, "Named in the database"], [in_cache.id, "Named in the cache"],
        ])

    def test_fields_written_later_in_the_transaction_keep_their_first_value(self):
        tag = self.env["crm.tag"].create({"name": "Audit capture tag"})
        order = self._fresh(self._create_order())
        order.write({"client_order_ref": "PO-8"})
        # The tags were neither in cache nor written when the first snapshot was taken.
        order.write({"commitment_date": "2030-01-02 10:00:00", "tag_ids": [Command.link(tag.id)]})
        order.write({"client_order_ref": "PO-9"})
        self._commit_point()
        log = self._logs(order, "write")
        self.assertEqual(len(log), 1)
        self.assertEqual(self._changes(log), {"fields": {
            "client_order_ref": [False, "PO-9"],
            "commitment_date": [False, "2030-01-02 10:00:00"],
            "tag_ids": [[], [tag.id]],
        }})

    def test_fields_computed_from_the_written_one_are_diffed(self):
        order = self._fresh(self._create_order())
        old_invoice_address = order.partner_invoice_id
        self.env.invalidate_all()
        order.write({"partner_id": self.other_customer.id})
        self._commit_point()
        changes = self._changes(self._logs(order, "write"))
        self.assertEqual(
            changes["fields"]["partner_id"],
            [[self.customer.id, self.customer.name], [self.other_customer.id, self.other_customer.name]],
        )
        self.assertEqual(
            changes["fields"]["partner_invoice_id"],
            [[old_invoice_address.id, old_invoice_address.name],
             [self.other_customer.id, self.other_customer.name]],
            "a field computed from the written one is diffed too",
        )

    def test_line_change_rolls_up_with_the_totals(self):
        order = self._fresh(self._create_order([(self.product, 2.0), (self.product_2, 1.0)]))
        line = order.order_line.filtered(lambda sol: sol.product_id == self.product)
        totals = ("amount_untaxed", "amount_tax", "amount_total")
        before = {name: order[name] for name in totals}
        line_before = {name: line[name] for name in ("price_subtotal", "price_total")}
        self.env.invalidate_all()
        line.write({"product_uom_qty": 5.0})
        self._commit_point()
        log = self._logs(order, "write")
        self.assertEqual(len(log), 1, "the line's change is a row of its order")
        self.assertFalse(self._logs(line))
        changes = self._changes(log)
        self.assertEqual(changes["fields"], {
            name: [before[name], order[name]] for name in totals if before[name] != order[name]
        })
        self.assertIn("amount_total", changes["fields"])
        self.assertEqual(changes["lines"], [{
            "model": "sale.order.line",
            "id": line.id,
            "name": None,
            "operation": "write",
            "fields": {
                "product_uom_qty": [2.0, 5.0],
                "price_subtotal": [line_before["price_subtotal"], line.price_subtotal],
                "price_total": [line_before["price_total"], line.price_total],
            },
        }])

    def test_line_unlink_keeps_every_old_value(self):
        order = self._fresh(self._create_order([(self.product, 2.0), (self.product_2, 1.0)]))
        line = order.order_line.filtered(lambda sol: sol.product_id == self.product_2)
        line_id = line.id
        had_value = {name for name in line._audit_fields() if line[name]}
        self.assertTrue({"product_id", "product_uom_qty", "price_unit"} <= had_value)
        self.env.invalidate_all()
        line.unlink()
        self._commit_point()
        lines = self._changes(self._logs(order, "write"))["lines"]
        self.assertEqual([(entry["id"], entry["operation"]) for entry in lines], [(line_id, "unlink")])
        self.assertEqual(set(lines[0]["fields"]), had_value, "an unlinked line shows every audited value it had")

    def test_edit_after_confirmation_is_flagged_with_nothing_in_cache(self):
        order = self._create_order()
        order.action_confirm()
        order = self._fresh(order)
        order.write({"client_order_ref": "PO-12"})
        self._commit_point()
        self.assertEqual(self._changes(self._logs(order, "write")[-1]), {
            "fields": {"client_order_ref": [False, "PO-12"]},
            "after_validation": True,
        })

    def test_nothing_changed_in_the_end_leaves_no_row(self):
        order = self._fresh(self._create_order())
        order.write({"client_order_ref": "PO-10"})
        order.write({"client_order_ref": False})
        self._commit_point()
        self.assertFalse(self._logs(order, "write"))

    def test_values_read_from_the_cache_are_the_field_values(self):
        order, invoice, payment = self._full_flow()
        records = [order, order.order_line, order.picking_ids, order.picking_ids.move_ids, invoice,
                   invoice.invoice_line_ids, payment]
        self._commit_point()
        for recordset in records:
            for record in recordset.with_context(active_test=False):
                # Reading the fields puts them in cache; the snapshot then reads the cache.
                expected_values = {name: audit_value(record._fields[name], record[name]) for name in record._audit_fields()}
                cached = record._audit_snapshot()[record.id]
                self.assertEqual(set(cached), set(expected_values))
                for name, value in cached.items():
                    expected = expected_values[name]
                    self.assertEqual(
                        (name, value, self._json_type(value)), (name, expected, self._json_type(expected)),
                        f"{record._name}.{name} read from the cache",
                    )

    @staticmethod
    def _json_type(value):
        return str if isinstance(value, str) else type(value)

    @contextmanager
    def _sale_orders_may_vanish(self):
        """Patch ``_audit_may_vanish`` of orders to True, and the audit profile that keeps its answer."""
        def forget_profiles():
            self.env.registry.clear_cache()
            self.env.cr.precommit.data.pop(PROFILES_KEY, None)

        with patch.object(type(self.env["sale.order"]), "_audit_may_vanish", lambda self: True):
            forget_profiles()
            try:
                yield
            finally:
                forget_profiles()

    def _delete_behind_the_orm(self, order):
        """What a cascade does: the row goes, the ORM is not told."""
        self.env.flush_all()
        self.env.cr.execute("DELETE FROM sale_order WHERE id = %s", [order.id])

    def test_only_models_a_cascade_can_delete_are_checked_at_insert(self):
        # The documents reference nothing that cascades: their rows are inserted
        # without asking the database whether they still exist.
        for model in ("sale.order", "stock.picking", "account.move", "account.payment"):
            self.assertFalse(self.env[model]._audit_may_vanish(), model)
        # Lines go with their document (order_id, move_id cascade).
        for model in ("sale.order.line", "account.move.line"):
            self.assertTrue(self.env[model]._audit_may_vanish(), model)

    def test_document_deleted_behind_the_orm_is_an_unlink_row(self):
        # As if sale.order had a many2one that cascades on delete.
        for in_cache in (True, False):
            with self.subTest(in_cache=in_cache), self._sale_orders_may_vanish():
                order = self._fresh(self._create_order())
                order_id, company = order.id, order.company_id
                order.write({"client_order_ref": "PO-11"})
                self._delete_behind_the_orm(order)
                if not in_cache:
                    self.env.invalidate_all()
                self._commit_point()
                logs = self.Log.search([("res_model", "=", "sale.order"), ("res_id", "=", order_id)], order="id")
                self.assertEqual(logs.mapped("operation"), ["create", "unlink"], "no write row for a deleted document")
                log = logs[1]
                self.assertEqual(log.company_id, company)
                fields_changed = self._changes(log)["fields"]
                # Its values before the transaction, as far as the snapshot of the write took them.
                self.assertEqual(fields_changed["client_order_ref"], [False, None])
