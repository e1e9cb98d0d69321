import logging

from odoo import _, http
from odoo.http import request
from odoo.tools.misc import format_amount, format_date, format_datetime

_logger = logging.getLogger(__name__)


class PrintedDocumentVerification(http.Controller):
    """Public page opened by the QR code printed on orders, delivery slips, invoices and credit notes."""

    @http.route(
        "/sales_document/verify/<string:token>", type="http", auth="public", methods=["GET"], save_session=False
    )
    def verify_printed_document(self, token, **kwargs):
        """Say whether the paper matches the document as it stands, and nothing else."""
        ip_address = request.httprequest.remote_addr
        Rate = request.env["sales.document.verify.rate"]
        if not Rate._allow_request(ip_address):
            self._set_page_lang()
            return request.render(
                "sales_document_audit.verify_rate_limited_page", {}, status=429, headers=[("Retry-After", "60")]
            )
        result = request.env["sales.document.print.token"]._check_print_token(token)
        if result["state"] == "forged":
            # Not logged on a document: the token names none we can trust.
            # Counted per address instead, with a line in the server log.
            Rate._count_request(ip_address, forged=True)
            _logger.info("Invalid printed document token from %s", ip_address)
            self._set_page_lang()
            return request.render("sales_document_audit.verify_forged_page", {}, status=404)
        document = result["document"]
        request.env["sales.document.audit.log"]._log_access(
            document.with_env(request.env),
            "read",
            {"verification": result["state"], "printed_at": str(result["printed_at"])},
        )
        self._set_page_lang(document.partner_id.lang)
        return request.render("sales_document_audit.verify_document_page", self._page_values(result))

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _set_page_lang(self, document_lang=None):
        """The visitor's language (``lang`` parameter, cookie, browser), else the paper's, else the default."""
        installed = [code for code, _name in request.env["res.lang"].get_installed()]
        wanted = [
            request.params.get("lang"),
            request.cookies.get("frontend_lang"),
            *(code.replace("-", "_") for code in request.httprequest.accept_languages.values()),
            document_lang,
        ]
        for code in filter(None, wanted):
            match = next((lang for lang in installed if lang.lower() == code.lower()), None)
            match = match or next((lang for lang in installed if lang.split("_")[0] == code.split("_")[0]), None)
            if match:
                request.update_context(lang=match)
                return

    def _page_values(self, result):
        document = result["document"].with_env(request.env).sudo()  # sudo: verified above, in the page's language
        env = document.env
        values = document.env["sales.document.print.token"]._print_token_values(document)
        labels = {
            "number": _("Number"),
            "date": _("Date"),
            "customer": _("Customer"),
            "amount": _("Amount"),
            "lines": _("Lines (products, quantities, prices)"),
            "status": _("Cancelled"),
        }
        if document._name == "sale.order":
            kind = _("Sales order") if document.state == "sale" else _("Quotation")
            date = format_date(env, document.date_order)
        elif document._name == "stock.picking":
            kind = _("Delivery slip")
            date = format_date(env, document.date_done or document.scheduled_date)
        else:
            kind = _("Credit note") if document.move_type == "out_refund" else _("Invoice")
            date = format_date(env, document.invoice_date)
        amount = format_amount(env, document.amount_total, document.currency_id) if values["amount"] else False
        return {
            "state": result["state"],
            "kind": kind,
            "number": document.name,
            "date": date,
            "customer": document.partner_id.name,
            "amount": amount,
            "cancelled": document.state == "cancel",
            "printed_at": format_datetime(env, result["printed_at"], tz="UTC"),
            "changed": [labels[name] for name in result["changed"]],
            "changed_at": result["changed_at"] and format_datetime(env, result["changed_at"], tz="UTC"),
        }
