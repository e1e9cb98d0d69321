"""A multi-worker server (--workers 2) under concurrent clients returns no errors.

The test starts a real Odoo server in prefork mode on the test database
(its own port, no cron), then several XML-RPC clients in threads create,
change, confirm and cancel orders and read the registry at the same time.
Every call must succeed: no serialization failure, no lock wait that ends in
an error, no access-log write failing inside a read-only request. The data
it committed is removed at the end (the audit rows stay: they are
append-only by design).
"""

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
import xmlrpc.client
from urllib.request import urlopen

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from odoo.addons.sales_document_registry.tests.common import CommittedDataMixin

CLIENTS = 4
ROUNDS = 4
PASSWORD = "Multi-worker-1"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestMultiWorker(CommittedDataMixin, TransactionCase):
    def _fixture(self):
        """Master data the clients use, committed so that the server sees it (removed at the end)."""
        token = uuid.uuid4().hex[:6]
        with self._committed() as env:
            company = env.ref("base.main_company")
            user = env["res.users"].create({
                "name": f"Multi-worker manager {token}",
                "login": f"multiworker_{token}",
                "password": PASSWORD,
                "company_id": company.id,
                "company_ids": [Command.set(company.ids)],
                "groups_id": [Command.set([
                    env.ref("sales_team.group_sale_manager").id,
                    env.ref("stock.group_stock_user").id,
                    env.ref("account.group_account_invoice").id,
                ])],
            })
            partners = env["res.partner"].create([{"name": f"Multi-worker customer {i} {token}"}
                                                  for i in range(CLIENTS)])
            service = env["product.product"].create({
                "name": f"Multi-worker service {token}", "type": "service", "list_price": 100.0,
            })
            carrier_product = env["product.product"].create({"name": f"Multi-worker freight {token}",
                                                             "type": "service"})
            carrier = env["delivery.carrier"].create({
                "name": f"Multi-worker carrier {token}", "product_id": carrier_product.id,
                "delivery_type": "fixed", "fixed_price": 0.0,
            })
            journal = env["account.journal"].search([("type", "=", "bank"), ("company_id", "=", company.id)],
                                                    limit=1)
            fixture = {
                "login": user.login,
                "user": user.id,
                "partners": partners.ids,
                "products": [service.id, carrier_product.id],
                "carrier": carrier.id,
                "payment_term": env.ref("account.account_payment_term_30days").id,
                "method_line": journal.inbound_payment_method_line_ids[:1].id,
            }
        self._cleanup_committed(lambda env: self._remove_fixture(env, fixture))
        return fixture

    @staticmethod
    def _remove_fixture(env, fixture):
        cr = env.cr
        cr.execute(SQL("SELECT id FROM sale_order WHERE partner_id = ANY(%s)", fixture["partners"]))
        orders = [row[0] for row in cr.fetchall()]
        if orders:
            cr.execute(SQL("DELETE FROM sale_order WHERE id = ANY(%s)", orders))
            cr.execute(SQL("DELETE FROM mail_activity WHERE res_model = 'sale.order' AND res_id = ANY(%s)", orders))
        cr.execute(SQL("DELETE FROM delivery_carrier WHERE id = %s", fixture["carrier"]))
        cr.execute(SQL(
            "DELETE FROM product_template WHERE id IN (SELECT product_tmpl_id FROM product_product WHERE id = ANY(%s))",
            fixture["products"],
        ))
        cr.execute(SQL("UPDATE res_users SET active = FALSE WHERE id = %s", fixture["user"]))

    def _start_server(self):
        port, gevent_port = _free_port(), _free_port()
        command = [
            sys.executable, os.path.join(os.path.dirname(odoo.__path__[0]), "odoo-bin"),
            "-c", odoo.tools.config.rcfile, "-d", self.env.cr.dbname,
            "--db-filter", f"^{self.env.cr.dbname}$", "--workers", "2", "--max-cron-threads", "0",
            "--http-port", str(port), "--gevent-port", str(gevent_port), "--log-level", "warn",
        ]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  start_new_session=True)
        self.addCleanup(self._stop_server, server)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if server.poll() is not None:
                self.fail(f"the multi-worker server stopped: {server.stderr.read()[-2000:]}")
            try:
                with urlopen(f"http://127.0.0.1:{port}/web/health", timeout=5):
                    return port
            except OSError:
                time.sleep(1)
        self.fail("the multi-worker server did not answer within 90 s")
        return None

    @staticmethod
    def _stop_server(server):
        if server.poll() is None:
            os.killpg(server.pid, 15)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, 9)
                server.wait()

    def _client(self, port, fixture, index, errors, created):
        """One user's session: quotations written, confirmed or cancelled, the registry read."""
        try:
            url = f"http://127.0.0.1:{port}/xmlrpc/2"
            db = self.env.cr.dbname
            uid = fixture["uid"]
            models = xmlrpc.client.ServerProxy(f"{url}/object", allow_none=True)

            def call(model, method, *args, **kwargs):
                return models.execute_kw(db, uid, PASSWORD, model, method, list(args), kwargs)

            for round_ in range(ROUNDS):
                order_id = call("sale.order", "create", {
                    "partner_id": fixture["partners"][index],
                    "payment_term_id": fixture["payment_term"],
                    "carrier_id": fixture["carrier"],
                    "preferred_payment_method_line_id": fixture["method_line"],
                    "client_order_ref": f"MW-{index}-{round_}",
                    "order_line": [[0, 0, {"product_id": fixture["products"][0], "product_uom_qty": 1 + round_}]],
                })
                created.append(order_id)
                call("sale.order", "write", [order_id], {"note": f"round {round_}"})
                call("sale.order", "read", [order_id], ["name", "amount_total", "state"])
                if round_ % 2:
                    call("sale.order", "action_cancel", [order_id])
                else:
                    call("sale.order", "action_confirm", [order_id])
                call("sales.document", "search_read", [("partner_id", "=", fixture["partners"][index])],
                     ["name", "doc_type", "state"], limit=80)
                call("sales.document", "read_group", [], ["__count"], ["state"], lazy=False)
        except Exception as exc:  # every failure is reported by the test
            errors.append(f"client {index}: {exc}")

    def test_concurrent_clients_on_two_workers(self):
        fixture = self._fixture()
        port = self._start_server()
        # One login first: Odoo may rehash a new password at its first login,
        # and several first logins of one user at once would race on that.
        fixture["uid"] = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/xmlrpc/2/common").authenticate(
            self.env.cr.dbname, fixture["login"], PASSWORD, {}
        )
        self.assertTrue(fixture["uid"])
        errors, created = [], []
        threads = [threading.Thread(target=self._client, args=(port, fixture, i, errors, created))
                   for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        self.assertFalse(errors, "\n\n".join(errors))
        self.assertEqual(len(created), CLIENTS * ROUNDS)
        with self.registry.cursor() as cr:
            cr.execute("SELECT state, count(*) FROM sale_order WHERE id = ANY(%s) GROUP BY state ORDER BY state",
                       (created,))
            self.assertEqual(cr.fetchall(), [("cancel", CLIENTS * ROUNDS // 2), ("sale", CLIENTS * ROUNDS // 2)])
            env = api.Environment(cr, SUPERUSER_ID, {})
            rows = env["sales.document"].search_count([("res_model", "=", "sale.order"), ("res_id", "in", created)])
            self.assertEqual(rows, CLIENTS * ROUNDS)
            differences = env["sales.document"]._store_differences()
            self.assertEqual(differences, dict.fromkeys(differences, 0))
