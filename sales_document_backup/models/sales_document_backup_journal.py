import json
import logging
import os
import uuid

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .. import settings
from ..errors import error_text
from ..lib import archive, crypto, manifest, storage

_logger = logging.getLogger(__name__)

# Advisory lock key of a company's journal sender (second key: the company id).
SEND_LOCK = 0x5DB0501

# Models journaled, with the one2many holding their lines.
JOURNALED_MODELS = {
    "sale.order": "order_line",
    "stock.picking": "move_ids",
    "account.move": "invoice_line_ids",
    "account.payment": None,
}
# Printed form of each journaled model (the PDF goes into the journal with the snapshot).
REPORTS = {
    "sale.order": "sale.action_report_saleorder",
    "stock.picking": "stock.action_report_delivery",
    "account.move": "account.account_invoices",
    "account.payment": "account.action_report_payment_receipt",
}
SKIPPED_TYPES = ("binary", "one2many", "properties", "properties_definition", "json")


class SalesDocumentBackupJournal(models.Model):
    """One snapshot of a sales document taken when it changed stage.

    Entries are queued in the transaction that changed the document and sent
    by a cron (every minute) to the destinations in encrypted batches, each
    batch carrying a manifest whose entries are chained by SHA-256.
    """

    _name = "sales.document.backup.journal"
    _description = "Document Journal Entry"
    _inherit = ["sales.document.backup.process.mixin"]
    _order = "id desc"
    # Written when the snapshot is taken, sent or restored, never by a client.
    _sdb_process_fields = (
        "name", "res_model", "res_id", "event", "company_id", "snapshot", "sha256", "state", "sequence",
        "prev_hash", "entry_hash", "backup_id", "restored_by_id", "restored_on", "restored_res_id",
        "restored_mode",
    )

    name = fields.Char(string="Document", readonly=True)
    res_model = fields.Char(string="Model", required=True, readonly=True, index=True)
    res_id = fields.Integer(string="Record ID", required=True, readonly=True, index=True)
    event = fields.Selection(
        [
            ("confirmed", "Confirmed"),
            ("cancelled", "Cancelled"),
            ("validated", "Validated"),
            ("posted", "Posted"),
            ("paid", "Paid"),
            ("archived", "Archived"),
            ("deleted", "Deleted"),
        ],
        required=True,
        readonly=True,
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    snapshot = fields.Text(readonly=True, help="JSON snapshot of the document and its lines.")
    sha256 = fields.Char(string="Snapshot SHA-256", readonly=True)
    state = fields.Selection(
        [("queued", "Queued"), ("sent", "Sent")], required=True, default="queued", readonly=True, index=True
    )
    sequence = fields.Integer(readonly=True, index=True, help="Position in the company's chain.")
    prev_hash = fields.Char(string="Previous Hash", readonly=True)
    entry_hash = fields.Char(string="Entry Hash", readonly=True)
    backup_id = fields.Many2one("sales.document.backup", string="Journal Batch", readonly=True, index=True)
    # The last restore of this entry (each one is also in the chatter of the
    # restored document and of the batch, and in the audit trail).
    restored_by_id = fields.Many2one("res.users", string="Restored By", readonly=True)
    restored_on = fields.Datetime(readonly=True)
    restored_res_id = fields.Integer(string="Restored Record ID", readonly=True)
    restored_mode = fields.Selection(
        [("draft", "As a new draft"), ("in_place", "Back in place")], string="Restored", readonly=True
    )

    # ------------------------------------------------------------
    # Snapshots
    # ------------------------------------------------------------

    @api.model
    def _snapshot_fields(self, model):
        """Stored fields kept in snapshots: no binaries (signature images
        included), no one2many, and no secrets (access tokens, passwords,
        signatures: see ``manifest.is_secret_field``), which Backup Viewers
        would otherwise read in the journal."""
        return [
            name for name, field in self.env[model]._fields.items()
            if field.store and field.type not in SKIPPED_TYPES and name not in models.MAGIC_COLUMNS
            and not manifest.is_secret_field(name)
        ]

    @api.model
    def _snapshot_values(self, records):
        """Plain JSON-ready values of ``records`` (many2one as ids), in one read."""
        if not records:
            return []
        # sudo: the snapshot holds every stored field, including those behind
        # groups the user confirming the document may not have (secrets excepted).
        rows = records.sudo().read(self._snapshot_fields(records._name), load=None)
        return [json.loads(manifest.canonical_json(manifest.without_secrets(row))) for row in rows]

    @api.model
    def _prepare_snapshot(self, record):
        """Snapshot of a document with its lines, as a dict."""
        lines_field = JOURNALED_MODELS.get(record._name)
        return {
            "model": record._name,
            "fields": self._snapshot_values(record)[0],
            "lines": self._snapshot_values(record[lines_field]) if lines_field else [],
        }

    @api.model
    def _enqueue(self, records, event):
        """Queue a snapshot of each record (called from the documents' hooks)."""
        vals_list = []
        for record in records:
            snapshot = manifest.canonical_json(self._prepare_snapshot(record))
            vals_list.append({
                "name": record.display_name,
                "res_model": record._name,
                "res_id": record.id,
                "event": event,
                "company_id": record.company_id.id or self.env.company.id,
                "snapshot": snapshot.decode(),
                "sha256": manifest.sha256_bytes(snapshot),
            })
        # sudo: the salesperson confirming an order has no access to backups,
        # yet the snapshot must be queued in the same transaction.
        return self.sudo().create(vals_list)

    # ------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------

    @api.model
    def _cron_send_journal(self):
        """Scheduled every minute: send queued snapshots, one batch per company."""
        batches = self.env["sales.document.backup"]
        companies = self.search([("state", "=", "queued")]).company_id
        for company in self.env["res.company"].search([]) - companies:
            if self._get_batch_extras(company):
                companies |= company
        for company in companies:
            batches |= self.with_company(company)._send_batch(company)
        return batches

    @api.model
    def _get_batch_extras(self, company):
        """Hook: ``{archive member name: JSON-serializable data}`` that the
        company's next journal batch must carry besides the snapshots.

        Nothing by default. Other addons extend it (e.g. the audit
        checkpoints sealed since the last batch); a company with extras gets
        a batch even when no snapshot is queued.
        """
        return {}

    @api.model
    def _batch_extras_sent(self, company, extras):
        """Hook: ``extras`` (from ``_get_batch_extras``) are now stored on every
        journal destination of ``company``. Nothing by default."""
        return None

    def _chain_payload(self, entry):
        return {
            "sequence": entry.sequence,
            "res_model": entry.res_model,
            "res_id": entry.res_id,
            "name": entry.name,
            "event": entry.event,
            "date": fields.Datetime.to_string(entry.create_date),
            "sha256": entry.sha256,
            "company_id": entry.company_id.id,
        }

    @api.model
    def _send_batch(self, company):
        """Encrypt the company's queued entries into one archive and store it
        on every journal destination. Entries stay queued if any copy fails."""
        Backup = self.env["sales.document.backup"]
        destinations = self.env["sales.document.backup.destination"].search(
            [("company_id", "=", company.id), ("journal_enabled", "=", True)]
        )
        if not destinations or not self._lock_sender(company):
            return Backup
        entries = self.search([("state", "=", "queued"), ("company_id", "=", company.id)], order="id")
        if not self._lock_queued(entries):
            return Backup
        extras = self._get_batch_extras(company)
        if not (entries or extras):
            return Backup
        last = self.search([("state", "=", "sent"), ("company_id", "=", company.id)], order="sequence desc", limit=1)
        stamp = fields.Datetime.now()
        batch = Backup._sdb_process_create({
            "name": _("Journal %(date)s", date=fields.Datetime.to_string(stamp)),
            "kind": "journal",
            "date": stamp,
            "company_id": company.id,
        })
        sequence = last.sequence or 0
        prev = last.entry_hash or manifest.GENESIS
        chained, printed = [], {}
        for entry in entries:
            sequence += 1
            payload = dict(self._chain_payload(entry), sequence=sequence)
            document, document_format = entry._render_document()
            if document:
                printed[sequence] = (document, document_format)
                payload.update(printed_sha256=manifest.sha256_bytes(document), printed_format=document_format)
            link = manifest.chain_entry(prev, payload)
            chained.append((entry, link))
            prev = link["hash"]
        path = os.path.join(settings.work_dir(), f"sdb-journal-{uuid.uuid4().hex}.sdb")
        try:
            public_key = crypto.load_public_key(settings.public_key_path())
            size, digest = self._write_batch(path, public_key, chained, extras, printed)
            batch._sdb_process_write({
                "size": size, "sha256": digest, "key_fingerprint": crypto.key_fingerprint(public_key),
                "manifest": json.dumps([link for _entry, link in chained], indent=1),
            })
            batch._copy_to_destinations(path, destinations, Backup._object_name("journal", batch._file_stem()))
        except (crypto.CryptoError, storage.StorageError, OSError) as exc:
            batch._fail_with(exc)
        finally:
            if os.path.exists(path):
                os.unlink(path)
        if batch.state == "running":
            batch._sdb_process_write({"state": "done"})
            if extras:
                self._batch_extras_sent(company, extras)
            for entry, link in chained:
                entry._sdb_process_write({
                    "state": "sent",
                    "sequence": link["sequence"],
                    "prev_hash": link["prev_hash"],
                    "entry_hash": link["hash"],
                    "backup_id": batch.id,
                })
        return batch

    @api.model
    def _lock_sender(self, company):
        """Whether this transaction may send ``company``'s journal now.

        Several servers run the journal job: a transaction-scoped advisory
        lock makes one of them the sender; the others skip the company (its
        entries go in the sender's batch or in the next one).
        """
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", SEND_LOCK, company.id))
        return self.env.cr.fetchone()[0]

    def _lock_queued(self, entries):
        """Lock ``entries`` for sending; False when another transaction, committed
        after this one's snapshot, has sent or is sending them."""
        if not entries:
            return True
        self.flush_model(["state"])
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(SQL(
                    "SELECT id FROM %s WHERE id = ANY(%s) AND state = 'queued' FOR NO KEY UPDATE NOWAIT",
                    SQL.identifier(self._table), entries.ids,
                ))
                return len(self.env.cr.fetchall()) == len(entries)
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.SerializationFailure):
            return False

    @api.model
    def _write_batch(self, path, public_key, chained, extras=None, printed=None):
        """Write the encrypted batch archive; returns (size, sha256)."""
        from ..lib.dump import HashingWriter

        with open(path, "wb") as raw:
            hashed = HashingWriter(raw)
            encrypted = crypto.EncryptingWriter(hashed, public_key)
            container = archive.ArchiveWriter(encrypted)
            container.add_bytes("journal.json", manifest.canonical_json([link for _entry, link in chained]))
            section = container.open_section("snapshots.jsonl", archive.CODEC_ZLIB)
            for entry, link in chained:
                section.write(manifest.canonical_json({"sequence": link["sequence"], "snapshot": json.loads(entry.snapshot)}) + b"\n")
            container.close_section()
            for sequence, (document, document_format) in sorted((printed or {}).items()):
                container.add_bytes(f"printed/{sequence}.{document_format}", document)
            for name, data in sorted((extras or {}).items()):
                container.add_bytes(name, manifest.canonical_json(data))
            container.close()
            encrypted.close()
        return hashed.size, hashed.hexdigest()

    def _render_document(self):
        """(bytes, 'pdf' or 'html') of the document's printed form, or (None, None).

        Printing is best effort: without wkhtmltopdf (or when Odoo renders
        HTML, as in tests) the journal still holds the JSON snapshot.
        """
        self.ensure_one()
        report_ref = REPORTS.get(self.res_model)
        record = self.env[self.res_model].browse(self.res_id).exists()
        if not report_ref or not record or not self.env.ref(report_ref, raise_if_not_found=False):
            return None, None
        try:
            # report_pdf_no_attachment: printing for the journal must not
            # attach a PDF to the document as a side effect.
            content, report_type = self.env["ir.actions.report"].with_context(
                report_pdf_no_attachment=True
            )._render_qweb_pdf(report_ref, record.ids)
        except Exception as exc:  # noqa: BLE001 - a missing printer must not block the journal
            _logger.warning("No printed copy of %s for the journal: %s", self.name, exc)
            return None, None
        return (content if isinstance(content, bytes) else str(content).encode()), report_type

    # ------------------------------------------------------------
    # Reading back
    # ------------------------------------------------------------

    def _load_from_destination(self):
        """Fetch this entry's snapshot from its batch on a destination.

        Verifies the archive checksum, the decryption, the chain of the batch
        and the snapshot's SHA-256; returns the snapshot dict.
        """
        self.ensure_one()
        if self.state != "sent" or not self.backup_id:
            raise UserError(_("This journal entry has not been sent to a destination yet."))
        import tempfile

        with tempfile.TemporaryDirectory(dir=settings.work_dir()) as tmp:
            try:
                private_key = crypto.load_private_key(settings.private_key_path(), settings.private_key_password())
                path, _errors = self.backup_id._download(tmp)
                links, snapshots = None, {}
                with open(path, "rb") as handle:
                    for name, blocks in archive.ArchiveReader(crypto.DecryptingReader(handle, private_key)):
                        if name == "journal.json":
                            links = json.loads(b"".join(blocks))
                        elif name == "snapshots.jsonl":
                            for line in archive.BlockReader(blocks).read().splitlines():
                                item = json.loads(line)
                                snapshots[item["sequence"]] = item["snapshot"]
            except (crypto.CryptoError, archive.ArchiveError, storage.StorageError, OSError) as exc:
                raise UserError(_("The journal cannot be read: %(error)s", error=error_text(self.env, exc))) from None
        check = manifest.verify_chain(links or [], (links or [{}])[0].get("prev_hash"))
        link = next((item for item in links or [] if item.get("sequence") == self.sequence), None)
        if not check["ok"] or not link or link["hash"] != self.entry_hash:
            raise UserError(_("The journal chain is broken: this snapshot cannot be trusted."))
        snapshot = snapshots.get(self.sequence)
        if snapshot is None or manifest.sha256_bytes(manifest.canonical_json(snapshot)) != link["sha256"]:
            raise UserError(_("The snapshot does not match the hash recorded in the journal."))
        return snapshot

    def _get_local_snapshot(self):
        """The snapshot kept in the database (unverified: for display and checks only)."""
        self.ensure_one()
        return json.loads(self.snapshot) if self.snapshot else {}

    def action_open_restored_document(self):
        """Open the document the last restore of this entry produced."""
        self.ensure_one()
        record = self.env[self.res_model].browse(self.restored_res_id).exists()
        if not record:
            raise UserError(_("The restored document no longer exists."))
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": record.id, "view_mode": "form"}

    def action_open_document(self):
        """Open the journaled document if it still exists."""
        self.ensure_one()
        record = self.env[self.res_model].browse(self.res_id).exists()
        if not record:
            raise UserError(_("The document %(name)s no longer exists.", name=self.name))
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": record.id, "view_mode": "form"}
