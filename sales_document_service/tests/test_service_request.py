from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import ServiceCase

NO_DIFFERENCE = {"rows": 0, "tags": 0, "products": 0, "summary": 0}


@tagged("post_install", "-at_install")
class TestServiceRequest(ServiceCase):
    # ------------------------------------------------------------------
    # Deadlines, stages, overdue
    # ------------------------------------------------------------------

    def test_deadline_from_service_level(self):
        """The deadline is the filing time plus the level of the type; the company's own level wins."""
        filed = datetime(2026, 3, 2, 9, 0)
        complaint = self._request(date_request=filed)
        self.assertEqual(complaint.date_deadline, filed + timedelta(days=2), "shipped level: 2 days")
        question = self._request(date_request=filed, request_type="question")
        self.assertEqual(question.date_deadline, filed + timedelta(hours=24))
        self.env["sales.service.level"].create({
            "request_type": "complaint", "time_value": 4, "time_unit": "hours", "company_id": self.company.id,
        })
        own = self._request(date_request=filed)
        self.assertEqual(own.date_deadline, filed + timedelta(hours=4), "the company's level wins")
        # Changing the type recomputes the deadline.
        own.request_type = "repair"
        self.assertEqual(own.date_deadline, filed + timedelta(days=10))
        with self.assertRaises(ValidationError):
            self.env["sales.service.level"].create({"request_type": "return", "time_value": 0})

    def test_stage_times_are_recorded(self):
        """Each stay in a stage is recorded with its entry, exit and duration."""
        with freeze_time("2026-03-02 09:00:00"):
            request = self._request()
        with freeze_time("2026-03-02 12:30:00"):
            request.stage_id = self.stage_progress
        with freeze_time("2026-03-03 12:30:00"):
            request.stage_id = self.stage_done
        stays = request.stage_history_ids.sorted("date_in")
        self.assertEqual(stays.stage_id, self.stage_new | self.stage_progress | self.stage_done)
        self.assertEqual(stays.mapped("duration_hours"), [3.5, 24.0, 0.0])
        self.assertFalse(stays[-1].date_out, "the current stay is open")
        self.assertEqual(request.state, "done")
        self.assertEqual(request.date_closed, datetime(2026, 3, 3, 12, 30))
        # Writing the same stage again adds no stay.
        request.stage_id = self.stage_done
        self.assertEqual(len(request.stage_history_ids), 3)

    def test_overdue_flag_and_filter(self):
        """An open request past its deadline is overdue; once done it is not."""
        late = self._request(date_request=datetime.now() - timedelta(days=3))
        on_time = self._request(date_request=datetime.now())
        self.assertTrue(late.is_overdue)
        self.assertFalse(on_time.is_overdue)
        found = self.Request.search([("is_overdue", "=", True), ("id", "in", (late | on_time).ids)])
        self.assertEqual(found, late)
        not_found = self.Request.search([("is_overdue", "=", False), ("id", "in", (late | on_time).ids)])
        self.assertEqual(not_found, on_time)
        late.stage_id = self.stage_done
        self.assertFalse(late.is_overdue)
        self.assertFalse(self.Request.search([("is_overdue", "=", True), ("id", "=", late.id)]))

    def test_other_company_requests_are_hidden(self):
        """A request of another company is hidden, even from the person responsible for it."""
        other_company = self.env["res.company"].create({"name": "Service Branch"})
        self.service_user.company_ids |= other_company
        theirs = self.Request.create({
            "partner_id": self.customer.id, "request_type": "question", "company_id": other_company.id,
            "user_id": self.salesman.id,
        })
        mine = self._request()
        Request = self.Request.with_user(self.salesman)
        self.assertEqual(Request.search([("id", "in", (mine | theirs).ids)]), mine)
        # The service user sees it only with the other company active.
        Request = self.Request.with_user(self.service_user).with_context(allowed_company_ids=[self.company.id])
        self.assertEqual(Request.search([("id", "in", (mine | theirs).ids)]), mine)
        both = Request.with_context(allowed_company_ids=[self.company.id, other_company.id])
        self.assertEqual(both.search([("id", "in", (mine | theirs).ids)]), mine | theirs)
        rows = self.env["sales.document"].with_user(self.salesman).search([("res_model", "=", theirs._name)])
        self.assertNotIn(theirs.id, rows.mapped("res_id"))

    # ------------------------------------------------------------------
    # Customer and linked documents
    # ------------------------------------------------------------------

    def test_customer_is_the_commercial_partner(self):
        """Filed for a contact, the request is the company's, with the contact kept."""
        order = self._confirmed_order()
        request = self._request(order, partner_id=self.customer_contact.id)
        self.assertEqual(request.partner_id, self.customer)
        self.assertEqual(request.contact_id, self.customer_contact)
        self.assertTrue(request.name.startswith("SR/"))
        self.assertEqual(request.user_id, self.salesman, "the order's salesperson handles it")

    def test_documents_must_belong_to_the_customer(self):
        """An order, delivery or invoice of another customer is refused, nothing is created."""
        other_order = self._confirmed_order(self.other_customer)
        count = self.Request.search_count([])
        with self.assertRaises(ValidationError):
            self._request(other_order, partner_id=self.customer.id)
        with self.assertRaises(ValidationError):
            self._request(picking_id=other_order.picking_ids[:1].id)
        self.assertEqual(self.Request.search_count([]), count)

    def test_server_owned_fields_are_refused(self):
        """Nobody writes the rating or the state by hand, whatever the client sends."""
        request = self._request()
        for vals in ({"rating": 5}, {"rating_comment": "great"}, {"state": "done"}, {"date_closed": "2026-01-01"}):
            with self.assertRaises(UserError):
                request.with_user(self.service_user).write(vals)
            with self.assertRaises(UserError):
                self.Request.with_user(self.service_user).create({
                    "partner_id": self.customer.id, "request_type": "question", **vals,
                })
        self.assertEqual((request.rating, request.state), (0, "open"))

    def test_rating_is_stored_on_the_request(self):
        """A rating through Odoo's rating machinery lands on the request, value and comment."""
        request = self._request()
        request.stage_id = self.stage_done
        token = request._rating_get_access_token(self.customer_contact)
        request.rating_apply(4, token=token, feedback="Quick and friendly")
        self.assertEqual(request.rating, 4)
        self.assertEqual(request.rating_comment, "Quick and friendly")
        self.assertTrue(request.rating_date)
        rating = self.env["rating.rating"].search([("res_model", "=", request._name), ("res_id", "=", request.id)])
        self.assertEqual((rating.rating, rating.partner_id), (4.0, self.customer_contact))

    # ------------------------------------------------------------------
    # Registry, flow, audit, journal
    # ------------------------------------------------------------------

    def test_registry_row(self):
        """A request is a registry row of type service, with its customer, order, tags and status."""
        tag = self.env["crm.tag"].create({"name": "Warranty"})
        order = self._confirmed_order()
        request = self._request(order, partner_id=self.customer_contact.id, user_id=self.salesman.id,
                                tag_ids=[Command.set(tag.ids)], date_request=datetime(2026, 3, 2, 9, 0))
        row = self._row(request)
        self.assertEqual(len(row), 1)
        self.assertEqual(
            (row.doc_type, row.name, row.partner_id, row.sale_order_id, row.user_id, row.company_id, row.state),
            ("service", request.name, self.customer, order, self.salesman, self.company, "open"),
        )
        self.assertEqual(str(row.date), "2026-03-02")
        self.assertEqual(row.amount_total, 0.0)
        self.assertEqual(row.tag_ids, tag)
        request.stage_id = self.stage_done
        self.assertEqual(self._row(request).state, "done")
        request.stage_id = self.stage_cancelled
        self.assertEqual(self._row(request).state, "cancelled")
        request.active = False
        self.assertFalse(self._row(request).active)
        self.assertEqual(self.env["sales.document"]._store_differences(), NO_DIFFERENCE)

    def test_customer_history_and_order_flow(self):
        """The request shows in the customer's sales documents and in its order's flow."""
        order = self._confirmed_order()
        request = self._request(order)
        self.env.flush_all()
        action = self.customer_contact.action_open_sales_documents()
        rows = self.env["sales.document"].search(action["domain"])
        self.assertIn(("sales.service.request", request.id), set(zip(rows.mapped("res_model"), rows.mapped("res_id"))))
        Flow = self.env["sales.document.flow"]
        for origin in (order, request):
            data = Flow._get_flow_data(origin)
            self.assertEqual([o["doc"]["id"] for o in data["orders"]], [order.id])
            self.assertEqual([s["name"] for s in data["orders"][0]["services"]], [request.name])
        html = Flow.create({"res_model": request._name, "res_id": request.id}).html
        self.assertIn(request.name, html)

    def test_audit_row_for_a_change(self):
        """Creating and moving a request are audit rows with the old and new values."""
        request = self._request()
        self._commit_point()
        self.assertEqual(len(self._logs(request, "create")), 1)
        request.write({"stage_id": self.stage_progress.id, "priority": "2"})
        self._commit_point()
        log = self._logs(request, "write")
        self.assertEqual(len(log), 1)
        changes = self._changes(log)
        self.assertEqual(changes["fields"]["stage_id"][0][0], self.stage_new.id)
        self.assertEqual(changes["fields"]["stage_id"][1][0], self.stage_progress.id)
        self.assertEqual(changes["fields"]["priority"], ["0", "2"])

    def test_audit_rule_configures_the_fields(self):
        """Service requests have an audit rule like the other documents; it decides what is recorded."""
        rule = self.env["sales.document.audit.rule"].search([("model", "=", "sales.service.request")])
        self.assertEqual(len(rule), 1)
        self.assertIn("stage_id", rule.field_ids.mapped("name"))
        rule.field_ids = self.env["ir.model.fields"]._get("sales.service.request", "priority")
        request = self._request()
        self._commit_point()
        request.write({"stage_id": self.stage_progress.id, "priority": "1"})
        self._commit_point()
        self.assertEqual(set(self._changes(self._logs(request, "write"))["fields"]), {"priority"})

    def test_journal_snapshot_when_done_or_cancelled(self):
        """Resolving, cancelling, archiving or deleting a request queues a journal snapshot."""
        Journal = self.env["sales.document.backup.journal"]
        request = self._request()
        request.stage_id = self.stage_progress
        self.assertFalse(Journal.search([("res_model", "=", request._name), ("res_id", "=", request.id)]))
        request.stage_id = self.stage_done
        entry = Journal.search([("res_model", "=", request._name), ("res_id", "=", request.id)])
        self.assertEqual((entry.event, entry.state, entry.name), ("validated", "queued", request.name))
        self.assertIn('"request_type":"complaint"', entry.snapshot)
        other = self._request()
        other.stage_id = self.stage_cancelled
        other.active = False
        other_id = other.id
        other.unlink()
        events = Journal.search([("res_model", "=", request._name), ("res_id", "=", other_id)]).mapped("event")
        self.assertEqual(sorted(events), ["archived", "cancelled", "deleted"])

    # ------------------------------------------------------------------
    # Returns
    # ------------------------------------------------------------------

    def test_return_wizard_links_the_return(self):
        """The Return button opens Odoo's return wizard; the return made is linked to the request."""
        order = self._confirmed_order()
        delivery = self._deliver(order)
        request = self._request(order, request_type="return", picking_id=delivery.id)
        action = request.action_open_return_wizard()
        self.assertEqual(action["res_model"], "stock.return.picking")
        wizard = Form(self.env["stock.return.picking"].with_context(**action["context"])).save()
        self.assertEqual(wizard.picking_id, delivery)
        result = wizard.action_create_returns_all()
        returned = self.env["stock.picking"].browse(result["res_id"])
        self.assertEqual(request.return_picking_ids, returned)
        self.assertEqual(request.return_count, 1)
        self.assertEqual(self.Request.search([("id", "=", request.id)]).action_view_returns()["domain"],
                         [("id", "in", returned.ids)])
        no_delivery = self._request(order)
        with self.assertRaises(UserError):
            no_delivery.action_open_return_wizard()


    # ------------------------------------------------------------------
    # Figures per customer
    # ------------------------------------------------------------------

    def _rate(self, request, value):
        request.stage_id = self.stage_done
        token = request._rating_get_access_token(self.customer_contact)
        request.rating_apply(value, token=token)

    def test_customer_service_stats(self):
        """Counts, open, overdue and average rating per customer, for what the user may read."""
        self._rate(self._request(), 5)
        self._rate(self._request(), 2)
        self._request(date_request=datetime.now() - timedelta(days=3))
        self._request(self._confirmed_order(self.other_customer))
        customers = (self.customer | self.other_customer | self.customer_contact).ids
        stats = self.Request._customer_service_stats(customers)
        self.assertEqual(stats[self.customer.id], {"count": 3, "open": 1, "overdue": 1, "rated": 2, "rating_avg": 3.5})
        self.assertEqual(stats[self.other_customer.id]["count"], 1)
        self.assertNotIn(self.customer_contact.id, stats, "figures are per commercial partner")
        mine = self.Request.with_user(self.salesman)._customer_service_stats(customers)
        self.assertEqual(set(mine), {self.customer.id}, "the salesperson's rules apply")
        filtered = self.Request._customer_service_stats(customers, [("request_type", "=", "question")])
        self.assertEqual(filtered, {})
