import base64
import logging
import os
import time
from datetime import UTC, datetime

from odoo import api, models
from odoo.tools import float_repr

from .. import settings
from ..lib import print_token, signing

_logger = logging.getLogger(__name__)

# Ed25519 signer loaded from the server option, per (path, modification time).
_SIGNER_CACHE = {}

# Operations of the audit trail that change a document.
CHANGE_OPERATIONS = ("create", "write", "unlink")


class SalesDocumentPrintToken(models.AbstractModel):
    """Signed tokens printed as QR codes on sales documents, and their check.

    A token binds the document and a digest of what its paper shows
    (number, date, customer, amount, lines, cancellation) at print time. It
    is signed with the Ed25519 key of the server option
    ``sales_audit_signing_key`` when there is one, else with an HMAC key
    derived from the database secret (see readme/SECURITY.md).
    """

    _name = "sales.document.print.token"
    _description = "Printed Document Verification Token"

    # ------------------------------------------------------------------
    # Keys
    # ------------------------------------------------------------------

    @api.model
    def _print_token_ed25519(self):
        """The Ed25519 signer of ``sales_audit_signing_key``, None when the option is not set.

        Raises when the option is set but the key cannot be read: tokens are
        then neither issued nor accepted rather than signed with a weaker key.
        """
        # The same option reading and key loading as the checkpoint signatures.
        path = settings.signing_key_path()
        if not path:
            return None
        key = (path, os.stat(path).st_mtime_ns)
        if key not in _SIGNER_CACHE:
            _SIGNER_CACHE.clear()
            private_key = signing.load_private_key(path, settings.signing_key_password())
            _SIGNER_CACHE[key] = print_token.Ed25519Signer(private_key=private_key)
        return _SIGNER_CACHE[key]

    @api.model
    def _print_token_signers(self):
        """(signer used to issue tokens, {algorithm: signer} accepted when checking)."""
        signer = self._print_token_ed25519()
        if signer is None:
            # sudo: the database secret is readable by administrators only; it never leaves the server.
            secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
            signer = print_token.HmacSigner(secret)
        # With a signing key configured, HMAC tokens are refused: whoever
        # holds a copy of the database (and so its secret) could make them.
        return signer, {signer.alg: signer}

    @api.model
    def _print_token_context(self):
        # sudo: the database identity binds tokens to this database; public visitors cannot read parameters.
        return self.env["ir.config_parameter"].sudo().get_param("database.uuid") or self.env.cr.dbname

    # ------------------------------------------------------------------
    # What the paper shows
    # ------------------------------------------------------------------

    @api.model
    def _print_token_applies(self, record):
        """Whether ``record`` gets a QR code: orders, customer deliveries and returns, invoices and credit notes."""
        if record._name == "sale.order":
            return True
        if record._name == "stock.picking":
            return record.picking_type_code == "outgoing" or bool(record.sale_id)
        if record._name == "account.move":
            return record.move_type in ("out_invoice", "out_refund")
        return False

    @api.model
    def _print_token_values(self, record):
        """The values of ``record`` its paper shows, one per print_token.COMPONENTS."""
        status = "cancelled" if record.state == "cancel" else "valid"
        if record._name == "sale.order":
            lines = [
                (line.product_id.id, line.product_uom_qty, line.price_unit)
                for line in record.order_line
                if not line.display_type
            ]
            return {
                "number": record.name,
                "date": str(record.date_order or ""),
                "customer": record.partner_id.id,
                "amount": self._print_token_amount(record.amount_total, record.currency_id),
                "lines": print_token.lines_value(lines),
                "status": status,
            }
        if record._name == "stock.picking":
            done = record.state == "done"
            lines = [
                (move.product_id.id, move.quantity if done else move.product_uom_qty, 0.0)
                for move in record.move_ids
                if move.state != "cancel" or not done
            ]
            return {
                "number": record.name,
                "date": str(record.date_done or record.scheduled_date or ""),
                "customer": record.partner_id.id,
                "amount": None,
                "lines": print_token.lines_value(lines),
                "status": status,
            }
        lines = [
            (line.product_id.id, line.quantity, line.price_unit)
            for line in record.invoice_line_ids
            if line.display_type == "product"
        ]
        return {
            "number": record.name,
            "date": str(record.invoice_date or ""),
            "customer": record.partner_id.id,
            "amount": self._print_token_amount(record.amount_total, record.currency_id),
            "lines": print_token.lines_value(lines),
            "status": status,
        }

    @api.model
    def _print_token_amount(self, amount, currency):
        return f"{currency.name} {float_repr(amount or 0.0, currency.decimal_places)}"

    @api.model
    def _print_token_digests(self, record):
        return print_token.component_digests(record._name, record.id, self._print_token_values(record))

    # ------------------------------------------------------------------
    # Issue
    # ------------------------------------------------------------------

    @api.model
    def _issue_print_token(self, record):
        """The signed token of ``record`` as it is printed now."""
        signer, _accepted = self._print_token_signers()
        return print_token.encode(
            record._name, record.id, int(time.time()), self._print_token_digests(record), signer,
            context=self._print_token_context(),
        )

    @api.model
    def _print_token_url(self, record):
        return f"{record.get_base_url()}/sales_document/verify/{self._issue_print_token(record)}"

    @api.model
    def _print_token_qr(self, record):
        """Data URI of the QR code printed on ``record``, or False when it gets none.

        Never fails the print: without a usable key the paper is printed
        without a QR code and the server log says why.
        """
        if not record or not self._print_token_applies(record):
            return False
        try:
            url = self._print_token_url(record)
            png = self.env["ir.actions.report"].barcode("QR", url, width=300, height=300, barLevel="M")
        except Exception:
            _logger.exception("No verification QR code on %s: the token could not be signed", record)
            return False
        return "data:image/png;base64," + base64.b64encode(png).decode("ascii")

    # ------------------------------------------------------------------
    # Check
    # ------------------------------------------------------------------

    @api.model
    def _check_print_token(self, text):
        """What a scanned token says about its document.

        Returns ``{'state': 'forged'}`` for anything that does not verify or
        names no current document, else ``{'state': 'genuine' or 'changed',
        'document', 'printed_at', 'changed' (component names), 'changed_at'}``.
        """
        try:
            _signer, accepted = self._print_token_signers()
            token = print_token.decode(text, accepted, context=self._print_token_context())
        except print_token.InvalidToken:
            return {"state": "forged"}
        except Exception:
            _logger.exception("Printed document tokens cannot be checked: the signing key is unusable")
            return {"state": "forged"}
        # sudo: a visitor holding a token whose signature verified was handed this paper; they see
        # only what it shows, and only after the verification above.
        document = self.env[token.model].sudo().with_context(active_test=False).browse(token.res_id).exists()
        if not document or not self._print_token_applies(document):
            return {"state": "forged"}
        printed_at = datetime.fromtimestamp(token.printed_at, UTC).replace(tzinfo=None)
        changed = print_token.changed_components(token, self._print_token_digests(document))
        return {
            "state": "changed" if changed else "genuine",
            "document": document,
            "printed_at": printed_at,
            "changed": changed,
            "changed_at": self._print_token_changed_at(document, printed_at) if changed else False,
        }

    @api.model
    def _print_token_changed_at(self, document, printed_at):
        """When ``document`` last changed after ``printed_at``: its latest audit row, else its write date."""
        # sudo: the visitor cannot read the audit trail; only the time of the latest change is shown.
        last = self.env["sales.document.audit.log"].sudo().with_context(active_test=False).search([
            ("res_model", "=", document._name),
            ("res_id", "=", document.id),
            ("operation", "in", CHANGE_OPERATIONS),
            ("timestamp", ">=", printed_at),
        ], order="timestamp desc, id desc", limit=1)
        if last:
            return last.timestamp
        if document.write_date and document.write_date >= printed_at:
            return document.write_date
        return False
