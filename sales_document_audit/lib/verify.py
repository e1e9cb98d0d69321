"""Command line verifier of the audit trail, for an auditor without Odoo.

Needs Python 3 with ``cryptography`` and ``psycopg2`` (``boto3`` for S3
anchors), the public key, the anchors and read access to the database (the
live one through a read-only role, or a restored backup)::

    python3 sales_document_audit/lib/verify.py --dsn "dbname=prod user=auditor host=db" \\
        --public-key audit-signing.pub.pem --anchor-dir /srv/audit-anchors [--json]
    python3 sales_document_audit/lib/verify.py --dsn ... --public-key KEY.pub.pem \\
        --s3-bucket anchors --s3-prefix prod [--s3-endpoint https://minio:9000]

S3 credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``, ...).
The database identity the anchors are filed under is read from the
database (``database.uuid``) unless ``--database-uuid`` gives it. Exit code
0: intact; 1: broken (the report names the first broken point); 2: the
verification could not run.
"""

import argparse
import json
import os
import sys


def _modules():
    if __package__:
        from . import anchors, signing, trail, verifier
    else:  # run as a script: make the sibling modules importable
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from lib import anchors, signing, trail, verifier
    return anchors, signing, trail, verifier


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Verify a sales document audit trail against its anchors.")
    parser.add_argument("--dsn", required=True, help="libpq connection string (read-only access is enough)")
    parser.add_argument("--public-key", action="append", default=[], help="Ed25519 public key PEM (repeatable)")
    parser.add_argument("--anchor-dir", help="local anchor directory")
    parser.add_argument("--s3-bucket", help="S3 bucket holding anchors")
    parser.add_argument("--s3-prefix", default="", help="prefix of the anchors in the bucket")
    parser.add_argument("--s3-endpoint", help="endpoint of an S3-compatible server")
    parser.add_argument("--company", type=int, action="append", help="company id (repeatable; default: all)")
    parser.add_argument("--database-uuid", help="database identity of the anchors (default: read from the DB)")
    parser.add_argument("--grace", type=int, default=3600,
                        help="seconds a new checkpoint may wait for its anchor (default 3600)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args(argv)


def run(args):
    """The verification result dict (every company) for parsed ``args``."""
    import psycopg2

    anchors_lib, signing, trail, verifier = _modules()
    keys = signing.key_map([signing.load_public_key(path) for path in args.public_key]) if args.public_key else None
    stores = []
    if args.anchor_dir:
        stores.append(anchors_lib.LocalAnchorStore(os.path.abspath(args.anchor_dir)))
    if args.s3_bucket:
        backend = anchors_lib.S3AnchorBackend(args.s3_bucket, endpoint_url=args.s3_endpoint, lock_mode=None)
        stores.append(anchors_lib.ObjectAnchorStore(backend, args.s3_prefix))
    connection = psycopg2.connect(args.dsn)
    try:
        connection.set_session(readonly=True)
        with connection.cursor() as cursor:
            database = args.database_uuid
            if not database:
                cursor.execute("SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'")
                found = cursor.fetchone()
                database = found[0] if found else None
            if args.company:
                companies = args.company
            else:
                cursor.execute(trail.COMPANIES_QUERY)
                companies = sorted({row[0] for row in cursor.fetchall()}, key=lambda company: company or 0)
            results = []
            for company in companies:
                checkpoints, rows_for, stray_row = trail.read_company(cursor, company)
                records = anchors_lib.read_all(stores, database, company) if stores else None
                result = verifier.verify_company(
                    checkpoints, rows_for, stray_row, anchors=records, public_keys=keys, database=database,
                    grace_seconds=args.grace,
                )
                result["company_id"] = company
                results.append(result)
    finally:
        connection.close()
    return combine(results, database)


def combine(results, database=None):
    """One result for several companies: the first broken point of the first broken company."""
    first, summary = _modules()[3].combine(results)
    return dict(
        summary,
        message=first["message"] if first else "",
        database=database,
        companies=[{key: value for key, value in result.items() if key != "issues"} for result in results],
    )


def report(result):
    """Short text report of a result."""
    lines = []
    if result["ok"]:
        lines.append(f"Audit trail intact: {result['checked']} sealed entries verified.")
    else:
        lines.append(
            f"Audit trail BROKEN ({result['reason']}): first broken entry #{result['first_broken_id']}"
            f" at sequence {result['first_broken_sequence']} of company {result['company_id']}."
        )
        lines.append(f"  {result['message']}")
    for company in result["companies"]:
        state = "ok" if company["ok"] else f"broken: {company['reason']}"
        anchored = (
            f", {company['anchored']} checkpoints anchored, {company['unanchored']} waiting"
            if company["anchors_checked"] else ", no anchors checked"
        )
        lines.append(f"  company {company['company_id']}: {company['checked']} entries{anchored}; {state}")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    try:
        result = run(args)
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never taken for success
        if args.json:
            sys.stdout.write(json.dumps({"ok": False, "error": str(exc)}) + "\n")
        else:
            sys.stdout.write(f"Verification could not run: {exc}\n")
        return 2
    sys.stdout.write((json.dumps(result, indent=1, default=str) if args.json else report(result)) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
