"""Command line tool: restore an encrypted full backup on a new server.

Needs only Python 3 with ``cryptography`` and ``psycopg2``, and the
PostgreSQL client tools; Odoo does not have to run. Usage::

    python3 sales_document_backup/lib/cli.py verify  --private-key KEY.pem ARCHIVE
    python3 sales_document_backup/lib/cli.py extract --private-key KEY.pem ARCHIVE --out DIR
    python3 sales_document_backup/lib/cli.py restore --private-key KEY.pem ARCHIVE \\
            --database NEW_DB --filestore-root /var/lib/odoo/filestore
    python3 sales_document_backup/lib/cli.py genkey --private KEY.pem --public KEY.pub.pem

Connection settings come from the usual PG* environment variables or the
--host/--port/--user options. Exit code 0 means success; any failure (wrong
key, truncated or altered archive, restore error) prints the reason and
exits with 1 after removing what it created.
"""

import argparse
import os
import shutil
import sys
import tempfile


def _say(text):
    sys.stdout.write(f"{text}\n")


def _modules():
    if __package__:
        from . import archive, crypto, dump, manifest
    else:  # run as a script: make the sibling modules importable
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from lib import archive, crypto, dump, manifest
    return archive, crypto, dump, manifest


def _params(args):
    return {"host": args.host, "port": args.port, "user": args.user, "password": os.environ.get("PGPASSWORD")}


def cmd_genkey(args, crypto, _dump, _manifest):
    crypto.generate_key_pair(args.private, args.public, key_size=args.bits)
    _say(f"Private key written to {args.private} (keep it off the Odoo server and out of backups).")
    _say(f"Public key written to {args.public} (set sales_backup_public_key to this path).")


def cmd_verify(args, crypto, dump, _manifest):
    key = crypto.load_private_key(args.private_key, os.environ.get("SALES_BACKUP_PRIVATE_KEY_PASSWORD"))
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        result = dump.extract_backup(args.archive, key, tmp)
    documents = result["manifest"].get("documents", {})
    _say("Archive OK: decrypted, every section matches its checksum.")
    for doc_type, info in sorted(documents.items()):
        _say(f"  {doc_type}: {info['count']} documents, total {info['amount_total']}")


def cmd_extract(args, crypto, dump, _manifest):
    key = crypto.load_private_key(args.private_key, os.environ.get("SALES_BACKUP_PRIVATE_KEY_PASSWORD"))
    os.makedirs(args.out, exist_ok=True)
    result = dump.extract_backup(args.archive, key, args.out)
    _say(f"Database dump: {result['dump_path']}")
    _say(f"Filestore: {result['filestore_dir']}")


def cmd_restore(args, crypto, dump, manifest):
    key = crypto.load_private_key(args.private_key, os.environ.get("SALES_BACKUP_PRIVATE_KEY_PASSWORD"))
    params = _params(args)
    target_filestore = os.path.join(args.filestore_root, args.database) if args.filestore_root else None
    if target_filestore and os.path.exists(target_filestore):
        raise dump.DumpError(f"The filestore {target_filestore} already exists; choose another database name.")
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        result = dump.extract_backup(args.archive, key, tmp)
        _say("Archive decrypted and verified.")
        dump.restore_database(result["dump_path"], args.database, params, timeout=args.timeout, jobs=args.jobs)
        _say(f"Database {args.database} restored.")
        try:
            if target_filestore:
                dump.restore_filestore(result["filestore_dir"], target_filestore)
                _say(f"Filestore restored into {target_filestore}.")
            conn = dump.connect(args.database, params)
            try:
                with conn.cursor() as pg:
                    actual = manifest.document_stats(pg)
            finally:
                conn.close()
            problems = manifest.compare_stats(result["manifest"].get("documents", {}), actual)
            if problems:
                raise dump.DumpError("The restored database differs from the manifest: " + "; ".join(problems))
        except BaseException:
            dump.drop_database(args.database, params)
            if target_filestore:
                shutil.rmtree(target_filestore, ignore_errors=True)
            raise
    _say("Documents match the manifest (counts, amounts, hashes). Restore complete.")


def build_parser():
    parser = argparse.ArgumentParser(description="Verify and restore encrypted sales document backups.")
    sub = parser.add_subparsers(dest="command", required=True)
    genkey = sub.add_parser("genkey", help="generate an RSA key pair")
    genkey.add_argument("--private", required=True)
    genkey.add_argument("--public", required=True)
    genkey.add_argument("--bits", type=int, default=3072)
    for name in ("verify", "extract", "restore"):
        command = sub.add_parser(name)
        command.add_argument("archive")
        command.add_argument("--private-key", required=True)
        command.add_argument("--work-dir", default=None, help="directory for temporary files")
        if name == "extract":
            command.add_argument("--out", required=True)
        if name == "restore":
            command.add_argument("--database", required=True, help="name of the new database")
            command.add_argument("--filestore-root", help="Odoo's data_dir/filestore directory")
            command.add_argument("--host")
            command.add_argument("--port")
            command.add_argument("--user")
            command.add_argument("--jobs", type=int, default=2)
            command.add_argument("--timeout", type=int, default=4 * 3600)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    archive, crypto, dump, manifest = _modules()

    handler = {"genkey": cmd_genkey, "verify": cmd_verify, "extract": cmd_extract, "restore": cmd_restore}
    try:
        handler[args.command](args, crypto, dump, manifest)
    except (crypto.CryptoError, dump.DumpError, archive.ArchiveError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
