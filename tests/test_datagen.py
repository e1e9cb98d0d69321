"""The benchmark data generator's clone mode, checked through the ORM.

A few template flows run through the ORM, the rest are SQL copies of them
(``benchmarks.flowclone``). Every copy must be a flow Odoo and the three
addons accept as their own: documents linked to their own order, balanced
and reconciled entries, unique numbers that later ORM documents continue,
registry rows, reconciliation state and stock as the template's.
"""

import re
from collections import Counter

from odoo.tests import TransactionCase, tagged

from benchmarks import datagen, flowclone

TEMPLATES = len(datagen.TEMPLATE_KINDS) * 2
CLONES = 60


def chain(order):
    """The documents of an order's flow, by kind."""
    pickings = order.picking_ids
    moves = order.invoice_ids
    return {
        "deliveries": pickings.filtered(lambda p: p.picking_type_code == "outgoing"),
        "returns": pickings.filtered(lambda p: p.picking_type_code == "incoming"),
        "invoices": moves.filtered(lambda m: m.move_type == "out_invoice"),
        "credit_notes": moves.filtered(lambda m: m.move_type == "out_refund"),
        "payments": moves._get_reconciled_payments() | moves.matched_payment_ids,
    }


def names_in(text, names):
    """The names among ``names`` that occur in ``text`` as whole document numbers.

    A number is a token: it may be neither preceded nor followed by another
    character of a number, so ``INV/2026/00005`` is not found inside a credit
    note's ``RINV/2026/00005`` nor inside ``INV/2026/000051``.
    """
    found = set()
    for name in names:
        if re.search(r"(?<![\w/-])" + re.escape(name) + r"(?![\w/-])", text):
            found.add(name)
    return found


def shape(order):
    """What a copy must share with its template: documents, states, amounts."""
    docs = chain(order)
    moves = docs["invoices"] | docs["credit_notes"]
    return {
        "counts": {kind: len(records) for kind, records in docs.items()},
        "picking_states": sorted(docs["deliveries"].mapped("state") + docs["returns"].mapped("state")),
        "moves": sorted(
            (m.move_type, m.state, m.payment_state, m.amount_total, m.amount_residual) for m in moves
        ),
        "payments": sorted((p.payment_type, p.state, p.amount, p.is_reconciled) for p in docs["payments"]),
        "order": (order.state, order.invoice_status, order.amount_total, len(order.order_line)),
    }


@tagged("post_install", "-at_install")
class TestDatagenClone(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sizing = datagen.Sizing(
            customers=12, contacts_per_customer=2, salespeople=3, teams=2, products=30,
            services=3, tags=4,
        )
        cls.master = datagen.prepare_master_data(cls.env, flows=TEMPLATES + CLONES, seed=7, sizing=sizing)
        cls.stats = datagen.generate_flows(
            cls.env, TEMPLATES + CLONES, seed=7, master=cls.master, mode="clone", commit=False,
            partial_rate=0.25, return_rate=0.25, clone_batch_size=25,
        )
        cls.env.invalidate_all()
        Order = cls.env["sale.order"]
        cls.templates = Order.browse(cls.stats.order_ids[:cls.stats.templates])
        cls.clones = Order.browse(cls.stats.order_ids[cls.stats.templates:])
        cls.template_of = {
            Order.browse(clone_id): Order.browse(template_id)
            for clone_id, template_id in cls.stats.template_of.items()
        }

    def test_counts_and_shapes_follow_the_templates(self):
        self.assertEqual(self.stats.templates, TEMPLATES)
        self.assertEqual(self.stats.clones, CLONES)
        self.assertEqual(self.stats.flows, TEMPLATES + CLONES)
        self.assertEqual(len(self.clones), CLONES)
        self.assertEqual(set(self.template_of), set(self.clones))
        self.assertEqual(set(self.template_of.values()), set(self.templates))
        for clone, template in self.template_of.items():
            self.assertEqual(shape(clone), shape(template), clone.name)
        # The flows of both kinds of variation are there.
        kinds = Counter(
            (bool(chain(t)["returns"]), "partial" in chain(t)["invoices"].mapped("payment_state"))
            for t in self.template_of.values()
        )
        self.assertTrue(kinds[(True, False)] and kinds[(False, True)] and kinds[(False, False)], kinds)
        # The statistics count the documents that exist.
        totals = Counter()
        for order in self.templates | self.clones:
            for kind, records in chain(order).items():
                totals[kind] += len(records)
        for kind in ("deliveries", "returns", "invoices", "credit_notes", "payments"):
            self.assertEqual(getattr(self.stats, kind), totals[kind], kind)

    def test_every_document_belongs_to_its_own_copy(self):
        seen = Counter()
        for clone in self.clones:
            docs = chain(clone)
            customer = clone.partner_id.commercial_partner_id
            for kind, records in docs.items():
                seen.update((records._name, rid) for rid in records.ids)
                self.assertTrue(records or kind in ("returns", "credit_notes"), (clone.name, kind))
            pickings = docs["deliveries"] | docs["returns"]
            moves = docs["invoices"] | docs["credit_notes"]
            self.assertEqual(pickings.sale_id, clone)
            self.assertEqual(pickings.group_id.sale_id, clone)
            self.assertEqual(clone.procurement_group_id, pickings.group_id)
            self.assertLessEqual(pickings.move_ids.sale_line_id, clone.order_line)
            self.assertLessEqual(docs["returns"].return_id, docs["deliveries"])
            self.assertLessEqual(docs["returns"].move_ids.origin_returned_move_id, docs["deliveries"].move_ids)
            self.assertEqual(moves.sd_sale_order_id, clone)
            self.assertLessEqual(moves.invoice_line_ids.sale_line_ids, clone.order_line)
            self.assertEqual(docs["payments"].sd_sale_order_id, clone)
            self.assertLessEqual(docs["credit_notes"].reversed_entry_id, docs["invoices"])
            # Customer and salesperson are the copy's, on every document.
            self.assertEqual(moves.commercial_partner_id, customer)
            self.assertEqual(moves.line_ids.partner_id, customer)
            self.assertEqual(docs["payments"].partner_id, customer)
            self.assertEqual(docs["payments"].move_id.line_ids.partner_id, customer)
            self.assertEqual(pickings.partner_id, clone.partner_shipping_id)
            self.assertEqual(moves.invoice_user_id, clone.user_id)
            self.assertEqual(pickings.sd_user_id, clone.user_id)
            self.assertEqual(docs["payments"].sd_user_id, clone.user_id)
            self.assertEqual(clone.team_id.id, self.master.team_of_user[clone.user_id.id])
            self.assertEqual(clone.user_id.id, self.master.salesperson_ids[
                self.master.customer_ids.index(customer.id)])
            self.assertEqual(clone.tag_ids, moves.tag_ids)
            self.assertEqual(bool(clone.tag_ids), bool(self.template_of[clone].tag_ids))
            # Invoiced products are the delivered ones, of the same kind as the template's.
            self.assertEqual(
                set(moves.invoice_line_ids.product_id.ids) - {False},
                set(clone.order_line.product_id.ids),
            )
            self.assertEqual(
                sorted(clone.order_line.product_id.mapped("type")),
                sorted(self.template_of[clone].order_line.product_id.mapped("type")),
            )
        # No document is shared by two flows, nor with a template.
        for template in self.templates:
            for records in chain(template).values():
                seen.update((records._name, rid) for rid in records.ids)
        self.assertEqual([key for key, count in seen.items() if count > 1], [])
        # Copies really vary: customers, products and dates.
        self.assertGreater(len(self.clones.partner_id.commercial_partner_id), 3)
        self.assertGreater(len(self.clones.order_line.product_id), len(self.templates.order_line.product_id))
        self.assertGreater(len(set(self.clones.mapped("date_order"))), 10)

    def test_entries_balanced_and_reconciled_like_the_template(self):
        moves = self.env["account.move"]
        for order in self.templates | self.clones:
            docs = chain(order)
            moves |= docs["invoices"] | docs["credit_notes"] | docs["payments"].move_id
        groups = self.env["account.move.line"]._read_group(
            [("move_id", "in", moves.ids)], ["move_id"], ["debit:sum", "credit:sum"])
        self.assertEqual(len(groups), len(moves))
        for move, debit, credit in groups:
            self.assertAlmostEqual(debit, credit, places=2, msg=move.name)
        for clone in self.clones:
            docs = chain(clone)
            entries = docs["invoices"] | docs["credit_notes"] | docs["payments"].move_id
            partials = entries.line_ids.matched_debit_ids | entries.line_ids.matched_credit_ids
            self.assertTrue(partials)
            self.assertLessEqual((partials.debit_move_id | partials.credit_move_id).move_id, entries)
            for line in entries.line_ids:
                if line.full_reconcile_id:
                    self.assertEqual(line.matching_number, str(line.full_reconcile_id.id))
                    self.assertLessEqual(line.full_reconcile_id.reconciled_line_ids.move_id, entries)
                elif line.matching_number:
                    group = line.matched_debit_ids | line.matched_credit_ids
                    self.assertEqual(line.matching_number, f"P{min(group.ids)}")

    def test_numbers_unique_and_continued_by_the_orm(self):
        orders = self.env["sale.order"].search([])
        self.assertEqual(len(set(orders.mapped("name"))), len(orders))
        self.assertEqual(len(set(self.clones.mapped("client_order_ref"))), CLONES)
        pickings = self.env["stock.picking"].search([])
        self.assertEqual(len(set(pickings.mapped("name"))), len(pickings))
        posted = self.env["account.move"].search([("state", "=", "posted")])
        keys = [(m.journal_id.id, m.name) for m in posted]
        self.assertEqual(len(set(keys)), len(keys))
        payments = self.env["account.payment"].search([])
        self.assertEqual(len(set(payments.mapped("name"))), len(payments))
        for clone in self.clones:
            docs = chain(clone)
            for move in docs["invoices"] | docs["credit_notes"] | docs["payments"].move_id:
                self.assertTrue(move._sequence_matches_date(), (move.name, move.date))
                self.assertTrue(move.name.startswith(move.sequence_prefix), move.name)
                self.assertEqual(int(move.name[len(move.sequence_prefix):]), move.sequence_number)
            self.assertEqual(docs["payments"].mapped("name"), docs["payments"].move_id.mapped("name"))
        # Flows made by the ORM afterwards take the next numbers, without collision.
        last_order = max(orders.mapped("name"))
        after = datagen.generate_flows(
            self.env, 3, seed=8, master=self.master, commit=False, partial_rate=0.0, return_rate=1.0)
        new_orders = self.env["sale.order"].browse(after.order_ids)
        self.assertEqual(len(new_orders), 3)
        self.assertTrue(all(name > last_order for name in new_orders.mapped("name")))
        new_moves = new_orders.invoice_ids
        self.assertEqual(set(new_moves.mapped("state")), {"posted"})
        for move in new_moves:
            same = posted.filtered(lambda m, mv=move: m.journal_id == mv.journal_id
                                   and m.sequence_prefix == mv.sequence_prefix)
            self.assertGreater(move.sequence_number, max(same.mapped("sequence_number") or [0]))
        names = self.env["stock.picking"].search([]).mapped("name")
        self.assertEqual(len(set(names)), len(names))

    def test_texts_name_the_copies(self):
        for clone in self.clones:
            template = self.template_of[clone]
            old_names = {template.name, template.client_order_ref}
            old_names |= {r.name for records in chain(template).values() for r in records}
            docs = chain(clone)
            moves = docs["invoices"] | docs["credit_notes"]
            self.assertEqual(set(moves.mapped("invoice_origin")), {clone.name})
            self.assertEqual(set(docs["invoices"].mapped("ref")), {clone.client_order_ref})
            for picking in docs["deliveries"]:
                self.assertIn(clone.name, picking.origin)
                self.assertEqual(set(picking.move_ids.mapped("reference")), {picking.name})
            self.assertEqual(set(docs["payments"].mapped("memo")) <= set(moves.mapped("name")), True)
            texts = (
                docs["deliveries"].mapped("origin") + docs["returns"].mapped("origin")
                + (docs["deliveries"] | docs["returns"]).move_ids.mapped("name")
                + (docs["deliveries"] | docs["returns"]).move_ids.mapped("origin")
                + (docs["deliveries"] | docs["returns"]).move_ids.stock_valuation_layer_ids.mapped("description")
                + (moves | docs["payments"].move_id).line_ids.mapped("name")
                + (moves | docs["payments"].move_id).mapped("ref")
                + docs["payments"].mapped("memo")
            )
            old_names.discard(False)
            for text in filter(None, texts):
                self.assertEqual(names_in(text, old_names), set(), f"{clone.name}: {text}")
            # Product descriptions follow the copy's products.
            for line in clone.order_line:
                self.assertIn(line.product_id.name, line.name)

    def test_names_in_compares_whole_numbers(self):
        names = {"INV/2026/00005", "S00024", "PO-ab-0000001"}
        self.assertEqual(names_in("Manual Payment: RINV/2026/00005", names), set())
        self.assertEqual(names_in("INV/2026/000051 - S000241", names), set())
        self.assertEqual(names_in("Manual Payment: INV/2026/00005", names), {"INV/2026/00005"})
        self.assertEqual(names_in("S00024 (PO-ab-0000001)", names), {"S00024", "PO-ab-0000001"})
        self.assertEqual(names_in("INV/2026/00005, S00024", names), {"INV/2026/00005", "S00024"})

    def test_registry_lists_the_copies(self):
        Document = self.env["sales.document"]
        for clone, template in self.template_of.items():
            rows = Document.search([("sale_order_id", "=", clone.id)])
            expected = Document.search([("sale_order_id", "=", template.id)])
            self.assertEqual(Counter(rows.mapped("doc_type")), Counter(expected.mapped("doc_type")), clone.name)
            self.assertEqual(rows.partner_id, clone.partner_id.commercial_partner_id)
            self.assertEqual(rows.filtered(lambda r: r.doc_type in ("order", "delivery", "payment")).user_id,
                             clone.user_id)
            docs = chain(clone)
            names = {r.name for records in docs.values() for r in records} | {clone.name}
            self.assertEqual(set(rows.mapped("name")), names - set(docs["payments"].filtered(
                lambda p: p.payment_type != "inbound").mapped("name")))
            self.assertEqual(rows.filtered(lambda r: r.doc_type == "order").tag_ids, clone.tag_ids)
            self.assertEqual(rows.filtered(lambda r: r.doc_type == "order").product_ids, clone.order_line.product_id)

    def test_reconciliation_check_matches_the_template(self):
        stored = {c: (c.recon_state, c.recon_ordered_amount, c.recon_delivered_amount,
                      c.recon_invoiced_amount, c.recon_paid_amount) for c in self.clones}
        for clone, template in self.template_of.items():
            self.assertEqual(stored[clone][0], template.recon_state, clone.name)
        self.clones.action_recon_check()
        self.env.invalidate_all()
        for clone, template in self.template_of.items():
            recomputed = (clone.recon_state, clone.recon_ordered_amount, clone.recon_delivered_amount,
                          clone.recon_invoiced_amount, clone.recon_paid_amount)
            self.assertEqual(recomputed, stored[clone], clone.name)
            self.assertEqual(
                recomputed[1:],
                (template.recon_ordered_amount, template.recon_delivered_amount,
                 template.recon_invoiced_amount, template.recon_paid_amount),
            )
            self.assertEqual(bool(clone.recon_issue), bool(template.recon_issue))
        # The fields recomputed after the copy hold what the ORM computes.
        for clone in self.clones:
            signature, normalized = clone.sd_line_signature, clone.client_order_ref_normalized
            clone._compute_sd_line_signature()
            clone._compute_client_order_ref_normalized()
            self.assertEqual((clone.sd_line_signature, clone.client_order_ref_normalized), (signature, normalized))

    def test_stock_follows_the_copied_moves(self):
        products = self.env["product.product"].browse(self.master.product_ids)
        internal = self.env["stock.quant"].search([
            ("product_id", "in", products.ids), ("location_id.usage", "=", "internal")])
        self.assertTrue(internal, "the copied flows keep stock in the warehouse")
        self.assertFalse(internal.filtered(lambda q: q.quantity < 0))
        for product in products:
            self.assertAlmostEqual(product.qty_available, product.quantity_svl, places=2, msg=product.name)
            self.assertAlmostEqual(product.value_svl, product.quantity_svl * product.standard_price, places=2)
        customer_location = self.env.ref("stock.stock_location_customers")
        delivered = sum(
            self.env["stock.move.line"].search([
                ("product_id", "in", products.ids), ("state", "=", "done"),
                ("location_dest_id", "=", customer_location.id),
            ]).mapped("quantity_product_uom")
        ) - sum(
            self.env["stock.move.line"].search([
                ("product_id", "in", products.ids), ("state", "=", "done"),
                ("location_id", "=", customer_location.id),
            ]).mapped("quantity_product_uom")
        )
        at_customers = sum(self.env["stock.quant"].search([
            ("product_id", "in", products.ids), ("location_id", "=", customer_location.id),
        ]).mapped("quantity"))
        self.assertAlmostEqual(at_customers, delivered, places=2)

    def test_only_chatter_and_wizards_left_behind(self):
        transient = {cls._table for cls in self.env.registry.values() if cls._transient}
        self.assertTrue(self.stats.uncloned)  # the return wizard's rows point at the templates
        for reference in self.stats.uncloned:
            self.assertIn(reference.split(".")[0], transient, reference)

    def test_bad_input_refused(self):
        count = self.env["sale.order"].search_count([])
        with self.assertRaisesRegex(datagen.DatagenError, "unknown generation mode"):
            datagen.generate_flows(self.env, 5, master=self.master, commit=False, mode="bulk")
        with self.assertRaisesRegex(flowclone.FlowCloneError, "several template flows"):
            flowclone.FlowCloner(self.env, self.templates[:1].ids * 2)
        self.assertEqual(self.env["sale.order"].search_count([]), count)
