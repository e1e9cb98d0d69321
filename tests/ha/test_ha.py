"""Two Odoo servers on one primary, read-only requests on a streaming standby.

``make test-ha`` builds the topology (tools/ha.py): a PostgreSQL primary, a
hot standby streaming from it, and two prefork Odoo servers (HTTP workers
and a cron worker each) on one database, both with ``db_replica_*`` pointing
at the standby. Concurrent XML-RPC and JSON-RPC clients, spread over both
servers, run the order-to-cash flow, race for the last units of a product
under the oversell guard in block mode, read the registry (lists, pivots),
open forms and export, while both servers' cron workers are woken again and
again for the audit sealing and the journal, and a full backup runs. Then
every guarantee is checked on the primary.
"""

import random
import threading
import time
import uuid
import xmlrpc.client
from collections import Counter

import psycopg2
import pytest
import requests

from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry

CLIENTS = 6
ROUNDS = 2
LAST_UNITS = 3
PASSWORD = "Scale-out-1"
OVERSELL_TEXT = "Not enough free stock to confirm"
RACE_CRONS = (
    "sales_document_audit.ir_cron_audit_seal",
    "sales_document_backup.ir_cron_send_journal",
    "sales_document_backup.ir_cron_check_running",
)


class RpcError(Exception):
    """An error returned by the server to a client."""


# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------


class XmlRpcClient:
    protocol = "xml-rpc"

    def __init__(self, url, db, uid):
        self.db, self.uid = db, uid
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

    def call(self, model, method, *args, **kwargs):
        try:
            return self.models.execute_kw(self.db, self.uid, PASSWORD, model, method, list(args), kwargs)
        except xmlrpc.client.Fault as exc:
            raise RpcError(exc.faultString) from None


class JsonRpcClient:
    """The web client's way: a session cookie and /web/dataset/call_kw (read-only methods on the replica)."""

    protocol = "json-rpc"

    def __init__(self, url, db, login):
        self.url, self.session = url, requests.Session()
        result = self._post("/web/session/authenticate", {"db": db, "login": login, "password": PASSWORD})
        self.uid = result["uid"]

    def _post(self, path, params):
        response = self.session.post(f"{self.url}{path}", json={"jsonrpc": "2.0", "method": "call", "params": params},
                                     timeout=300)
        response.raise_for_status()
        body = response.json()
        if body.get("error"):
            error = body["error"]
            raise RpcError((error.get("data") or {}).get("message") or error.get("message"))
        return body["result"]

    def call(self, model, method, *args, **kwargs):
        return self._post(f"/web/dataset/call_kw/{model}/{method}",
                          {"model": model, "method": method, "args": list(args), "kwargs": kwargs})


# ---------------------------------------------------------------------------
# Database helpers
# ---------------------------------------------------------------------------


def connect(topology, which="primary"):
    where = topology[which]
    conn = psycopg2.connect(dbname=topology["db_name"], host=where["host"], port=where["port"], user=where["user"])
    conn.autocommit = True
    return conn


def query(conn, sql, params=None):
    with conn.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall() if cr.description else []


def standby_transactions(topology):
    """Transactions the standby has served on the database (its own statistics)."""
    conn = connect(topology, "standby")
    try:
        query(conn, "SELECT pg_stat_clear_snapshot()")
        return query(conn, "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                     [topology["db_name"]])[0][0]
    finally:
        conn.close()


def wake_crons(conn, db_name, xmlids):
    """Make the given jobs due now and wake the cron workers of every server."""
    modules_names = [xmlid.split(".") for xmlid in xmlids]
    for module, name in modules_names:
        query(conn, """
            UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') - interval '1 minute'
             WHERE id = (SELECT res_id FROM ir_model_data WHERE module = %s AND name = %s AND model = 'ir.cron')
        """, [module, name])
    query(conn, "SELECT pg_notify('cron_trigger', %s)", [db_name])


def odoo_env(cr):
    return api.Environment(cr, SUPERUSER_ID, {})


# ---------------------------------------------------------------------------
# Fixture data and the workload
# ---------------------------------------------------------------------------


def prepare(topology):
    """Users, products, stock and a backup destination, committed on the primary."""
    registry = Registry(topology["db_name"])
    with registry.cursor() as cr:
        env = odoo_env(cr)
        company = env.ref("base.main_company")
        company.write({"sales_oversell_mode": "block", "audit_off_hours_enabled": False})
        token = uuid.uuid4().hex[:6]
        user = env["res.users"].create({
            "name": f"Scale-out manager {token}",
            "login": f"scaleout_{token}",
            "email": f"scaleout_{token}@example.com",
            "password": PASSWORD,
            "company_id": company.id,
            "company_ids": [Command.set(company.ids)],
            "groups_id": [Command.set([
                env.ref("sales_team.group_sale_manager").id,
                env.ref("stock.group_stock_user").id,
                env.ref("account.group_account_invoice").id,
                env.ref("sales_document_backup.group_backup_manager").id,
                env.ref("base.group_allow_export").id,
            ])],
        })
        partners = env["res.partner"].create([{"name": f"Scale-out customer {i}"} for i in range(CLIENTS)])
        scarce, plenty = env["product.product"].create([
            {"name": "Scale-out last units", "is_storable": True, "list_price": 50.0},
            {"name": "Scale-out stocked", "is_storable": True, "list_price": 20.0},
        ])
        stock = env.ref("stock.warehouse0").lot_stock_id
        env["stock.quant"]._update_available_quantity(scarce, stock, LAST_UNITS)
        env["stock.quant"]._update_available_quantity(plenty, stock, 10000)
        carrier_product = env["product.product"].create({"name": "Scale-out freight", "type": "service"})
        carrier = env["delivery.carrier"].create({
            "name": "Scale-out carrier", "product_id": carrier_product.id,
            "delivery_type": "fixed", "fixed_price": 0.0,
        })
        journal = env["account.journal"].search([("type", "=", "bank"), ("company_id", "=", company.id)], limit=1)
        destination = env["sales.document.backup.destination"].create({
            "name": "Scale-out disk", "kind": "local", "path": topology["backup_dir"],
            "company_id": company.id, "journal_enabled": True,
        })
        return {
            "login": user.login,
            "company": company.id,
            "partners": partners.ids,
            "scarce": scarce.id,
            "plenty": plenty.id,
            "carrier": carrier.id,
            "payment_term": env.ref("account.account_payment_term_30days").id,
            "method_line": journal.inbound_payment_method_line_ids[:1].id,
            "destination": destination.id,
        }


class Client:
    """One user's session on one server: the race, the flow, the reads."""

    def __init__(self, index, topology, data, barrier, results):
        self.index, self.data, self.barrier, self.results = index, data, barrier, results
        server = topology["servers"][index % len(topology["servers"])]
        self.server = server["name"]
        if index % 2:
            self.rpc = JsonRpcClient(server["url"], topology["db_name"], data["login"])
        else:
            self.rpc = XmlRpcClient(server["url"], topology["db_name"], data["uid"])

    def _record(self, kind, **values):
        with self.results["lock"]:
            self.results[kind].append({"client": self.index, "server": self.server,
                                       "protocol": self.rpc.protocol, **values})

    def _order(self, product, qty, ref):
        return self.rpc.call("sale.order", "create", {
            "partner_id": self.data["partners"][self.index],
            "payment_term_id": self.data["payment_term"],
            "carrier_id": self.data["carrier"],
            "preferred_payment_method_line_id": self.data["method_line"],
            "client_order_ref": ref,
            # Plain tuples: XML-RPC cannot marshal the Command enum.
            "order_line": [(0, 0, {"product_id": product, "product_uom_qty": qty})],
        })

    def run(self):
        try:
            self._race()
            for round_ in range(ROUNDS):
                self._flow(round_)
                self._reads()
        except Exception as exc:  # every failure is reported by the test
            self.barrier.abort()
            self._record("errors", error=f"{type(exc).__name__}: {exc}")

    def _race(self):
        order_id = self._order(self.data["scarce"], 1, f"RACE-{self.index}")
        self.barrier.wait(timeout=120)
        try:
            self.rpc.call("sale.order", "action_confirm", [order_id])
        except RpcError as exc:
            if OVERSELL_TEXT not in str(exc):
                raise
            self._record("refused", order=order_id)
            return
        self._record("confirmed", order=order_id)

    def _flow(self, round_):
        call = self.rpc.call
        order_id = self._order(self.data["plenty"], 1 + round_, f"FLOW-{self.index}-{round_}")
        call("sale.order", "action_confirm", [order_id])
        picking_ids = call("sale.order", "read", [order_id], ["picking_ids"])[0]["picking_ids"]
        for move in call("stock.move", "search_read", [("picking_id", "in", picking_ids)], ["product_uom_qty"]):
            call("stock.move", "write", [move["id"]], {"quantity": move["product_uom_qty"], "picked": True})
        for picking_id in picking_ids:
            call("stock.picking", "button_validate", [picking_id])
        wizard = call("sale.advance.payment.inv", "create", {
            "advance_payment_method": "delivered", "sale_order_ids": [(6, 0, [order_id])],
        })
        call("sale.advance.payment.inv", "create_invoices", [wizard])
        invoice_ids = call("sale.order", "read", [order_id], ["invoice_ids"])[0]["invoice_ids"]
        call("account.move", "action_post", invoice_ids)
        context = {"active_model": "account.move", "active_ids": invoice_ids}
        register = call("account.payment.register", "create", {}, context=context)
        call("account.payment.register", "action_create_payments", [register], context=context)
        self._record("flows", order=order_id)

    def _reads(self):
        call = self.rpc.call
        partner = self.data["partners"][self.index]
        spec = {"name": {}, "doc_type": {}, "state": {}, "amount_total": {}}
        if self.rpc.protocol == "json-rpc":
            rows = call("sales.document", "web_search_read", [("partner_id", "=", partner)], spec, limit=80)
            assert rows["length"] >= 1, rows
            call("sales.document", "web_read_group", [], ["amount_total:sum"], ["doc_type", "state"], lazy=False)
            order_ids = call("sale.order", "search", [("partner_id", "=", partner)], limit=3)
            for order_id in order_ids:
                # A form open: served by the replica, logged on the primary.
                call("sale.order", "web_read", [order_id], {"name": {}, "state": {}, "amount_total": {}})
                self._record("form_opens", order=order_id)
            self._record("replica_reads", count=3 + len(order_ids))
        else:
            rows = call("sales.document", "search_read", [("partner_id", "=", partner)], ["name", "doc_type"])
            assert rows, "the registry shows the customer's documents"
            call("sales.document", "read_group", [], ["amount_total:sum"], ["date:month", "doc_type"], lazy=False)
        order_ids = call("sale.order", "search", [("partner_id", "=", partner)])
        call("sale.order", "export_data", order_ids, ["name", "amount_total", "state"])
        self._record("exports", orders=order_ids)


def cron_waker(topology, stop):
    """Wake both servers' cron workers for the jobs that must run once, again and again."""
    conn = connect(topology)
    try:
        while not stop.wait(random.uniform(1.0, 2.5)):
            wake_crons(conn, topology["db_name"], RACE_CRONS)
    finally:
        conn.close()


def full_backup(topology, data, results):
    """A full backup started on the second server while the clients run."""
    server = topology["servers"][-1]
    client = XmlRpcClient(server["url"], topology["db_name"], data["uid"])
    try:
        action = client.call("sales.document.backup.destination", "action_backup_now", [data["destination"]])
        results["backup"] = action["res_id"]
    except Exception as exc:  # reported by the test
        results["errors"].append({"client": "backup", "error": f"{type(exc).__name__}: {exc}"})


def wait_backup(conn, backup_id, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state, error = query(conn, "SELECT state, error FROM sales_document_backup WHERE id = %s", [backup_id])[0]
        if state != "running":
            return state, error
        time.sleep(1)
    return "running", "still running"


@pytest.fixture(scope="module")
def workload(topology):
    """Run the clients once; the tests below check what they left behind."""
    data = prepare(topology)
    common = xmlrpc.client.ServerProxy(f"{topology['servers'][0]['url']}/xmlrpc/2/common")
    # One login first: Odoo may rehash a new password at its first login.
    data["uid"] = common.authenticate(topology["db_name"], data["login"], PASSWORD, {})
    assert data["uid"]
    results = {"lock": threading.Lock(), "errors": [], "refused": [], "confirmed": [], "flows": [],
               "form_opens": [], "exports": [], "replica_reads": []}
    standby_before = standby_transactions(topology)
    barrier = threading.Barrier(CLIENTS)
    clients = [Client(i, topology, data, barrier, results) for i in range(CLIENTS)]
    stop = threading.Event()
    threads = [threading.Thread(target=c.run) for c in clients]
    threads.append(threading.Thread(target=full_backup, args=(topology, data, results)))
    waker = threading.Thread(target=cron_waker, args=(topology, stop))
    waker.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    conn = connect(topology)
    try:
        results["backup_state"] = wait_backup(conn, results["backup"]) if results.get("backup") else None
        # Let the crons run a last time on both servers, then stop waking them.
        wake_crons(conn, topology["db_name"], RACE_CRONS)
        time.sleep(5)
        stop.set()
        waker.join()
        results["standby_served"] = standby_transactions(topology) - standby_before
    finally:
        conn.close()
    results["data"] = data
    return results


def final_seal_and_send(topology):
    """Seal and send what the last cron runs left (what the next run would do)."""
    with Registry(topology["db_name"]).cursor() as cr:
        env = odoo_env(cr)
        env["sales.document.audit.log"]._cron_seal()
    with Registry(topology["db_name"]).cursor() as cr:
        odoo_env(cr)["sales.document.backup.journal"]._cron_send_journal()


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def test_no_error_returned_to_any_client(workload):
    assert not workload["errors"], "\n".join(f"{e['client']}: {e['error']}" for e in workload["errors"])
    assert len(workload["flows"]) == CLIENTS * ROUNDS
    servers = {flow["server"] for flow in workload["flows"]}
    assert len(servers) == 2, "both servers served the clients"
    assert workload["backup_state"] and workload["backup_state"][0] == "done", workload["backup_state"]


def test_no_oversell(workload, topology):
    assert len(workload["confirmed"]) == LAST_UNITS
    assert len(workload["refused"]) == CLIENTS - LAST_UNITS
    conn = connect(topology)
    try:
        sold = query(conn, """
            SELECT coalesce(sum(l.product_uom_qty), 0) FROM sale_order_line l JOIN sale_order o ON o.id = l.order_id
             WHERE l.product_id = %s AND o.state = 'sale'
        """, [workload["data"]["scarce"]])[0][0]
    finally:
        conn.close()
    assert sold == LAST_UNITS


def test_registry_store_exact(workload, topology):
    with Registry(topology["db_name"]).cursor() as cr:
        env = odoo_env(cr)
        differences = env["sales.document"]._store_differences()
        assert differences == dict.fromkeys(differences, 0)
        orders = [row["order"] for row in workload["flows"]]
        rows = env["sales.document"].search([("sale_order_id", "in", orders)])
        counts = Counter(rows.mapped("doc_type"))
        assert counts["order"] == len(orders)
        assert counts["invoice"] == len(orders)
        assert counts["payment"] == len(orders)
        assert counts["delivery"] == len(orders)


def test_audit_chain_complete_and_verifying(workload, topology):
    final_seal_and_send(topology)
    with Registry(topology["db_name"]).cursor() as cr:
        env = odoo_env(cr)
        Log = env["sales.document.audit.log"].with_context(active_test=False)
        orders = [row["order"] for row in workload["flows"]]
        created = Log.search([("res_model", "=", "sale.order"), ("res_id", "in", orders), ("operation", "=", "create")])
        assert sorted(created.mapped("res_id")) == sorted(orders), "one creation row per order"
        cr.execute("""
            SELECT company_id, count(*), count(DISTINCT sequence), min(sequence), max(sequence),
                   count(*) FILTER (WHERE sequence IS NULL)
              FROM sales_document_audit_log GROUP BY company_id
        """)
        for company_id, total, distinct, first, last, unsealed in cr.fetchall():
            assert unsealed == 0, f"company {company_id}: {unsealed} rows left unsealed"
            assert (distinct, first, last) == (total, 1, total), f"company {company_id}: the chain has gaps or doubles"
            integrity = Log.verify_integrity(company_id)
            assert integrity["ok"], integrity
            assert integrity["checked"] == total


def test_every_journal_entry_sent_once(workload, topology):
    final_seal_and_send(topology)
    conn = connect(topology)
    try:
        queued = query(conn, "SELECT count(*) FROM sales_document_backup_journal WHERE state <> 'sent'")[0][0]
        assert queued == 0
        for company_id, total, distinct, first, last in query(conn, """
            SELECT company_id, count(*), count(DISTINCT sequence), min(sequence), max(sequence)
              FROM sales_document_backup_journal GROUP BY company_id
        """):
            assert (distinct, first, last) == (total, 1, total), f"company {company_id}: journal sequence broken"
        failed = query(conn, "SELECT name, error FROM sales_document_backup WHERE kind = 'journal' AND state <> 'done'")
        assert not failed, failed
        orders = [row["order"] for row in workload["flows"]]
        confirmed = query(conn, """
            SELECT res_id, count(*) FROM sales_document_backup_journal
             WHERE res_model = 'sale.order' AND event = 'confirmed' AND res_id = ANY(%s) GROUP BY res_id
        """, [orders])
        assert sorted(confirmed) == sorted((order, 1) for order in orders)
    finally:
        conn.close()


def test_access_log_complete(workload, topology):
    uid = workload["data"]["uid"]
    conn = connect(topology)
    try:
        reads = query(conn, """
            SELECT res_id, count(*) FROM sales_document_audit_log
             WHERE operation = 'read' AND res_model = 'sale.order' AND user_id = %s GROUP BY res_id
        """, [uid])
        exports = query(conn, """
            SELECT count(*) FROM sales_document_audit_log
             WHERE operation = 'export' AND res_model = 'sale.order' AND user_id = %s
        """, [uid])[0][0]
    finally:
        conn.close()
    expected = Counter(row["order"] for row in workload["form_opens"])
    assert expected, "the JSON-RPC clients opened forms"
    assert dict(reads) == dict(expected), "one access row per form open, written on the primary"
    assert exports == len(workload["exports"])


def test_read_only_requests_served_by_the_replica(workload):
    replica_reads = sum(row["count"] for row in workload["replica_reads"])
    assert replica_reads
    assert workload["standby_served"] >= replica_reads, (
        f"the standby served {workload['standby_served']} transactions for {replica_reads} read-only requests"
    )
