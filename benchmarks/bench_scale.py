"""Scale-out: one Odoo server against two servers with a streaming replica.

One topology (tools/ha.py): a PostgreSQL primary, a hot standby streaming
from it, one database with the project's addons. Three prefork servers run on
it: ``single`` without replica (the baseline), ``odoo1`` and ``odoo2`` with
``db_replica_*`` pointing at the standby. The same mixed workload (JSON-RPC
clients in threads, as the web client: the order-to-cash flow plus registry
lists, pivots and form opens) runs against ``single``, then spread over
``odoo1`` and ``odoo2``, in turns. While the baseline runs, the primary
commits asynchronously (nothing waits for the standby); while the pair runs
it commits with ``remote_apply``, as the topology needs (see tools/ha.py).
"""

import os
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

from .report import BenchResult, Measurement
from .scratch import BenchError
from .timing import summarize

NAME = "scale"
DESCRIPTION = __doc__
TOOLS = Path(__file__).resolve().parent.parent / "tools"
PASSWORD = "Scale-bench-1"
READ_OPS = ("list", "pivot", "form")


def add_arguments(parser):
    parser.add_argument("--clients", type=int, default=6, help="client threads (default 6)")
    parser.add_argument("--flows", type=int, default=4, help="flows per client and turn (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="turns of each set-up (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="HTTP workers per server (default 2)")
    parser.add_argument("--single-workers", type=int, default=None,
                        help="HTTP workers of the single server (default: --workers; twice that compares "
                             "the same number of workers)")


def _ha():
    sys.path.insert(0, str(TOOLS))
    import ha  # noqa: PLC0415 - tools/ is not a package

    return ha


# ---------------------------------------------------------------------------
# Master data (as the administrator, over JSON-RPC)
# ---------------------------------------------------------------------------


def prepare(ha, url, db, clients):
    admin = ha.JsonRpcClient(url, db, "admin", "admin")
    call = admin.call

    def xmlid(module, name):
        rows = call("ir.model.data", "search_read", [("module", "=", module), ("name", "=", name)], ["res_id"])
        return rows[0]["res_id"]

    groups = [xmlid("sales_team", "group_sale_manager"), xmlid("stock", "group_stock_user"),
              xmlid("account", "group_account_invoice")]
    token = uuid.uuid4().hex[:6]
    login = f"scale_{token}"
    call("res.users", "create", {"name": f"Scale bench {token}", "login": login, "password": PASSWORD,
                                 "email": f"{login}@example.com", "groups_id": [(6, 0, groups)]})
    partners = [call("res.partner", "create", {"name": f"Scale customer {i} {token}"}) for i in range(clients)]
    product = call("product.product", "create", {"name": f"Scale product {token}", "is_storable": True,
                                                 "list_price": 20.0})
    location = call("stock.warehouse", "search_read", [], ["lot_stock_id"], limit=1)[0]["lot_stock_id"][0]
    quant = call("stock.quant", "create", {"product_id": product, "location_id": location,
                                           "inventory_quantity": 1_000_000})
    call("stock.quant", "action_apply_inventory", [quant])
    freight = call("product.product", "create", {"name": f"Scale freight {token}", "type": "service"})
    carrier = call("delivery.carrier", "create", {"name": f"Scale carrier {token}", "product_id": freight,
                                                  "delivery_type": "fixed", "fixed_price": 0.0})
    journal = call("account.journal", "search_read", [("type", "=", "bank")], ["inbound_payment_method_line_ids"],
                   limit=1)[0]
    return {
        "login": login, "partners": partners, "product": product, "carrier": carrier,
        "payment_term": xmlid("account", "account_payment_term_30days"),
        "method_line": journal["inbound_payment_method_line_ids"][0],
    }


# ---------------------------------------------------------------------------
# The workload
# ---------------------------------------------------------------------------


def client_work(ha, url, db, data, index, flows, timings, errors):
    """One user: ``flows`` order-to-cash flows, each followed by registry reads."""
    try:
        rpc = ha.JsonRpcClient(url, db, data["login"], PASSWORD)
    except Exception as exc:  # reported by the benchmark
        errors.append(f"login: {exc}")
        return
    partner = data["partners"][index]

    def timed(op, model, method, *args, **kwargs):
        started = time.perf_counter()
        result = rpc.call(model, method, *args, **kwargs)
        timings[op].append(time.perf_counter() - started)
        return result

    for _flow in range(flows):
        try:
            order = timed("create", "sale.order", "create", {
                "partner_id": partner, "payment_term_id": data["payment_term"], "carrier_id": data["carrier"],
                "preferred_payment_method_line_id": data["method_line"],
                "client_order_ref": f"SCALE-{uuid.uuid4().hex[:10]}",
                "order_line": [(0, 0, {"product_id": data["product"], "product_uom_qty": 1})],
            })
            timed("confirm", "sale.order", "action_confirm", [order])
            pickings = rpc.call("sale.order", "read", [order], ["picking_ids"])[0]["picking_ids"]
            started = time.perf_counter()
            for picking in pickings:
                rpc.call("stock.picking", "button_validate", [picking])
            timings["deliver"].append(time.perf_counter() - started)
            started = time.perf_counter()
            wizard = rpc.call("sale.advance.payment.inv", "create",
                              {"advance_payment_method": "delivered", "sale_order_ids": [(6, 0, [order])]})
            rpc.call("sale.advance.payment.inv", "create_invoices", [wizard])
            invoices = rpc.call("sale.order", "read", [order], ["invoice_ids"])[0]["invoice_ids"]
            rpc.call("account.move", "action_post", invoices)
            timings["invoice"].append(time.perf_counter() - started)
            context = {"active_model": "account.move", "active_ids": invoices}
            started = time.perf_counter()
            register = rpc.call("account.payment.register", "create", {}, context=context)
            rpc.call("account.payment.register", "action_create_payments", [register], context=context)
            timings["pay"].append(time.perf_counter() - started)
            timings["flow"].append(1)
            spec = {"name": {}, "doc_type": {}, "state": {}, "amount_total": {}, "partner_id": {}}
            timed("list", "sales.document", "web_search_read", [("partner_id", "=", partner)], spec, limit=80)
            timed("list", "sales.document", "web_search_read", [], spec, limit=80)
            timed("pivot", "sales.document", "web_read_group", [], ["amount_total:sum"], ["date:month", "doc_type"],
                  lazy=False)
            timed("form", "sale.order", "web_read", [order], {"name": {}, "state": {}, "amount_total": {}})
        except Exception as exc:  # reported by the benchmark
            errors.append(f"client {index}: {exc}")


def run_turn(ha, topology, servers, data, args):
    timings, errors = defaultdict(list), []
    threads = [
        threading.Thread(target=client_work, args=(ha, servers[i % len(servers)].url, topology.db_name, data, i,
                                                   args.flows, timings, errors))
        for i in range(args.clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise BenchError("clients got errors:\n" + "\n".join(errors[:10]))
    return timings, elapsed


def standby_transactions(topology):
    out = topology.standby.psql(
        f"SELECT pg_stat_clear_snapshot(); SELECT xact_commit + xact_rollback FROM pg_stat_database "
        f"WHERE datname = '{topology.db_name}'"
    )
    return int(out.split()[-1])


def set_synchronous(ha, topology, on):
    if on:
        ha.make_synchronous(topology.primary)
    else:
        topology.primary.psql("ALTER SYSTEM SET synchronous_standby_names = ''")
        topology.primary.psql("SELECT pg_reload_conf()")


def run(args, session):
    ha = _ha()
    odoo_path = Path(os.environ.get("ODOO_PATH", "/opt/odoo18"))
    topology = ha.Topology(python=sys.executable, odoo_path=odoo_path, servers=0)
    try:
        topology.build()
        pair = [topology.add_server(f"odoo{i}", workers=args.workers, replica=True) for i in (1, 2)]
        single = topology.add_server("single", workers=args.single_workers or args.workers, replica=False)
        data = prepare(ha, single.url, topology.db_name, args.clients)
        setups = {"single": [single], "pair": pair}
        timings = {name: defaultdict(list) for name in setups}
        elapsed = dict.fromkeys(setups, 0.0)
        cpu = {name: defaultdict(float) for name in setups}
        replica_reads = replica_served = 0
        processes = {"single": single.pids, "odoo1": pair[0].pids, "odoo2": pair[1].pids,
                     "primary": lambda: ha.cluster_pids(topology.primary),
                     "standby": lambda: ha.cluster_pids(topology.standby)}
        # Warm-up: every server loads its registry and assets once.
        run_turn(ha, topology, [single, *pair], data, type(args)(clients=3, flows=1))
        for _round in range(args.rounds):
            for name, servers in setups.items():
                set_synchronous(ha, topology, name == "pair")
                pids = {label: get() for label, get in processes.items()}
                before_cpu = {label: ha.process_cpu_seconds(p) for label, p in pids.items()}
                before_standby = standby_transactions(topology)
                turn, seconds = run_turn(ha, topology, servers, data, args)
                for label, p in pids.items():
                    cpu[name][label] += ha.process_cpu_seconds(p) - before_cpu[label]
                if name == "pair":
                    replica_reads += sum(len(turn[op]) for op in READ_OPS)
                    replica_served += standby_transactions(topology) - before_standby
                for op, values in turn.items():
                    timings[name][op].extend(values)
                elapsed[name] += seconds
                ha.log(f"{name}: {len(turn['flow'])} flows in {seconds:.1f} s")
    finally:
        topology.teardown()
    return BenchResult(_measurements(timings, elapsed, cpu, replica_reads, replica_served),
                       title="Scale-out: two servers + replica (value) against one server (baseline)",
                       extra={"clients": args.clients, "flows": args.flows, "rounds": args.rounds,
                              "workers": args.workers, "single_workers": args.single_workers or args.workers})


def _measurements(timings, elapsed, cpu, replica_reads, replica_served):
    rows = [Measurement(
        "throughput", len(timings["pair"]["flow"]) / elapsed["pair"], unit="flows/s",
        baseline=len(timings["single"]["flow"]) / elapsed["single"],
        note="flows per second, reads included",
    )]
    for op in ("create", "confirm", "deliver", "invoice", "pay", *READ_OPS):
        single, pair = summarize(timings["single"][op]), summarize(timings["pair"][op])
        rows.append(Measurement(f"{op} p50", pair.p50 * 1000, unit="ms", baseline=single.p50 * 1000))
        rows.append(Measurement(f"{op} p95", pair.p95 * 1000, unit="ms", baseline=single.p95 * 1000))
    rows.append(Measurement(
        # The standby also counts its own transactions (the servers' replica pools check the
        # connection): the share is capped at 100 %.
        "reads served by the replica", 100.0 * min(replica_served, replica_reads) / max(replica_reads, 1), unit="%",
        note=f"{replica_served} standby transactions for {replica_reads} read-only requests",
    ))
    for label in ("single", "odoo1", "odoo2", "primary", "standby"):
        rows.append(Measurement(f"CPU s: {label}", cpu["pair"][label], unit="s", baseline=cpu["single"][label]))
    return rows
