import base64
import os
import tempfile
import xmlrpc.client
from unittest.mock import patch

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from odoo import Command
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL, config
from odoo.tools.misc import format_amount

from ..lib import print_token
from ..models.sales_document_print_token import SalesDocumentPrintToken
from ..models.sales_document_verify_rate import LIMIT_PARAM
from .common import AuditCase

VERIFY_URL = "/sales_document/verify/"


def _altered(token):
    """``token`` with one character of its signature changed."""
    position = len(token) - 5
    return token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]


@tagged("post_install", "-at_install")
class TestPrintVerification(AuditCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Token = cls.env["sales.document.print.token"]
        cls.admin = cls.env.ref("base.user_admin")
        # The default limit would let every test pass unseen; each test sets its own when it needs one.
        cls.env["ir.config_parameter"].set_param(LIMIT_PARAM, 50)

    def _verify(self, token, headers=None):
        """Open the public page of ``token`` as an anonymous visitor would."""
        self._commit_point()
        return self.url_open(VERIFY_URL + token, headers=headers, timeout=60)

    def _forged_count(self):
        self.env.cr.execute(SQL("SELECT COALESCE(SUM(forged), 0) FROM sales_document_verify_rate"))
        return self.env.cr.fetchone()[0]

    def _amount(self, record):
        return format_amount(self.env, record.amount_total, record.currency_id)

    def _verification_logs(self, record):
        return [self._changes(log).get("verification") for log in self._logs(record, "read")]

    def _invoice_of(self, move_type="out_invoice", price=120.0):
        move = self.env["account.move"].create({
            "move_type": move_type,
            "partner_id": self.customer.id,
            "preferred_payment_method_line_id": self.payment_method_line.id,
            "invoice_line_ids": [Command.create({"product_id": self.product.id, "quantity": 2, "price_unit": price})],
        })
        move.action_post()
        return move

    # ------------------------------------------------------------------
    # The page
    # ------------------------------------------------------------------

    def test_genuine_paper(self):
        """An unchanged document: genuine, with what the paper shows, and the scan is logged."""
        order = self._create_order()
        response = self._verify(self.Token._issue_print_token(order))
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_sd_verify_genuine", response.text)
        self.assertNotIn("o_sd_verify_changed", response.text)
        for shown in (order.name, self.customer.name, self._amount(order)):
            self.assertIn(shown, response.text)
        self.assertEqual(self._verification_logs(order), ["genuine"])
        log = self._logs(order, "read")
        self.assertEqual(log.user_id, self.env.ref("base.public_user"))
        self.assertEqual(log.ip_address, "127.0.0.1")

    def test_changed_since_printing(self):
        """A line changed after printing: genuine but changed, what and when."""
        order = self._create_order()
        token = self.Token._issue_print_token(order)
        order.order_line[0].product_uom_qty = 3
        response = self._verify(token)
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_sd_verify_changed", response.text)
        self.assertNotIn("o_sd_verify_genuine", response.text)
        self.assertIn("Lines (products, quantities, prices)", response.text)
        self.assertIn("Amount", response.text)
        self.assertIn("o_sd_verify_changed_at", response.text, "the time of the change is shown")
        self.assertIn(self._amount(order), response.text, "the amount as it stands now")
        self.assertEqual(self._verification_logs(order), ["changed"])

    def test_cancelled_since_printing(self):
        order = self._create_order()
        token = self.Token._issue_print_token(order)
        order._action_cancel()
        response = self._verify(token)
        self.assertIn("o_sd_verify_changed", response.text)
        self.assertIn("This document is cancelled.", response.text)

    def test_forged_tokens_reveal_nothing(self):
        """Altered, foreign-key and garbage tokens all get the same bare page, and no audit row."""
        order = self._create_order()
        genuine = self.Token._issue_print_token(order)
        foreign = print_token.encode(
            "sale.order", order.id, 0, self.Token._print_token_digests(order),
            print_token.HmacSigner("a secret that is not this database's"),
            context=self.Token._print_token_context(),
        )
        forged_before = self._forged_count()
        for token in (_altered(genuine), foreign, "not-a-token", "A" * 500):
            response = self._verify(token)
            self.assertEqual(response.status_code, 404, token)
            self.assertIn("o_sd_verify_forged", response.text)
            for secret in (order.name, self.customer.name, self._amount(order)):
                self.assertNotIn(secret, response.text)
        self.assertEqual(self._verification_logs(order), [], "forged tokens are not logged on a document")
        self.assertEqual(self._forged_count() - forged_before, 4, "they are counted per address instead")

    def test_signed_token_of_an_unknown_document_is_not_genuine(self):
        order = self._create_order()
        signer, _accepted = self.Token._print_token_signers()
        token = print_token.encode(
            "sale.order", order.id + 10**6, 0, self.Token._print_token_digests(order), signer,
            context=self.Token._print_token_context(),
        )
        self.assertIn("o_sd_verify_forged", self._verify(token).text)

    def test_rate_limited(self):
        """Past the limit, a plain 429 page, not logged."""
        self.env["ir.config_parameter"].set_param(LIMIT_PARAM, 3)
        order = self._create_order()
        token = self.Token._issue_print_token(order)
        for _i in range(3):
            self.assertEqual(self._verify(token).status_code, 200)
        response = self._verify(token)
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response.headers.get("Retry-After"), "60")
        self.assertIn("o_sd_verify_rate_limited", response.text)
        self.assertNotIn(order.name, response.text)
        self.assertEqual(self._verification_logs(order), ["genuine"] * 3)

    def test_ed25519_key_from_the_server_configuration(self):
        """With a signing key configured, tokens are Ed25519 and HMAC ones are refused."""
        order = self._create_order()
        hmac_token = self.Token._issue_print_token(order)
        key = ed25519.Ed25519PrivateKey.generate()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "signing.pem")
            with open(path, "wb") as handle:
                handle.write(key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ))
            with patch.dict(config.options, {"sales_audit_signing_key": path}):
                token = self.Token._issue_print_token(order)
                raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
                self.assertEqual(raw[0] & 0x0F, print_token.ALG_ED25519)
                self.assertIn("o_sd_verify_genuine", self._verify(token).text)
                self.assertIn("o_sd_verify_forged", self._verify(hmac_token).text)
        # A key that cannot be read: no QR code and no valid token, never a weaker key, never a failed print.
        logger = "odoo.addons.sales_document_audit.models.sales_document_print_token"
        with patch.dict(config.options, {"sales_audit_signing_key": "/nonexistent/signing.pem"}):
            with self.assertLogs(logger, "ERROR"):
                html, urls = self._render("sale.action_report_saleorder", order)
            self.assertIn(order.name, html)
            self.assertNotIn("o_sd_verify_qr", html)
            with self.assertLogs(logger, "ERROR"):
                self.assertEqual(self.Token._check_print_token(hmac_token)["state"], "forged")

    def test_zh_cn_page(self):
        """The page speaks Simplified Chinese to a Chinese browser."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "sales_document_audit")])._update_translations(
            filter_lang=["zh_CN"]
        )
        order = self._create_order()
        token = self.Token._issue_print_token(order)
        response = self._verify(token, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        self.assertIn("真实且未更改", response.text)
        self.assertIn("非真实", self._verify("forged", headers={"Accept-Language": "zh-CN"}).text)
        self.assertIn("Genuine and unchanged", self._verify(token, headers={"Accept-Language": "en-US"}).text)

    def test_scans_outside_office_hours_raise_no_alert(self):
        """A customer scanning a paper at night is not staff working off hours."""
        Alert = self.env["sales.document.audit.alert"]
        self._commit_point()
        Alert._cron_detect()
        self.company.write({
            "audit_off_hours_enabled": True, "audit_office_hour_start": 0.0, "audit_office_hour_end": 0.0,
        })
        order = self._create_order(user=self.salesman)
        self._verify(self.Token._issue_print_token(order))
        self.assertEqual(self._verification_logs(order), ["genuine"])
        self._commit_point()
        alerts = Alert._cron_detect().filtered(lambda a: a.rule == "off_hours")
        self.assertEqual(alerts.user_id, self.salesman, "only the salesperson's own work, not the public scan")

    def test_counters_over_xmlrpc(self):
        """Security officers read the counters; nobody writes them or calls the token methods remotely."""
        officer = self._create_user("sd_qr_officer", "Olga Officer", ["sales_document_audit.group_security_officer"])
        for user in (officer, self.salesman):
            user.password = f"{user.login}-pw"
        order = self._create_order()
        self._verify(_altered(self.Token._issue_print_token(order)))
        rate = self.env["sales.document.verify.rate"].search([("forged", ">", 0)], limit=1)
        self.assertTrue(rate)

        def call(user, model, method, *args):
            self.env.flush_all()
            try:
                return True, self.xmlrpc_object.execute_kw(
                    self.env.cr.dbname, user.id, f"{user.login}-pw", model, method, list(args)
                )
            except xmlrpc.client.Fault as fault:
                return False, fault.faultString
            finally:
                self.env.invalidate_all()

        done, rows = call(officer, "sales.document.verify.rate", "search_read", [("id", "=", rate.id)], ["forged"])
        self.assertTrue(done, rows)
        self.assertEqual(rows[0]["forged"], rate.forged)
        attacks = [
            (self.salesman, "sales.document.verify.rate", "search_read", [], ["ip_address"]),
            (officer, "sales.document.verify.rate", "write", [rate.id], {"forged": 0, "hits": 0}),
            (officer, "sales.document.verify.rate", "unlink", [rate.id]),
            (officer, "sales.document.verify.rate", "create", [{"ip_address": "10.0.0.1", "window_start": "2026-01-01"}]),
            (officer, "sales.document.print.token", "_issue_print_token", order.id),
            (self.salesman, "sales.document.print.token", "_check_print_token", "x"),
            (self.salesman, "sales.document.verify.rate", "_count_request", "127.0.0.1"),
        ]
        for user, model, method, *args in attacks:
            done, text = call(user, model, method, *args)
            self.assertFalse(done, f"{user.login} {model}.{method} must be refused")
        self.assertEqual(rate.read(["forged", "hits"])[0]["forged"], 1)

    # ------------------------------------------------------------------
    # The printed documents
    # ------------------------------------------------------------------

    def _render(self, report_xmlid, record):
        """HTML of the report, and the verification URL put in its QR code."""
        urls = []
        original = SalesDocumentPrintToken._print_token_url

        def spy(model, document):
            urls.append(original(model, document))
            return urls[-1]

        report = self.env.ref(report_xmlid)
        with patch.object(SalesDocumentPrintToken, "_print_token_url", spy):
            html, _kind = self.env["ir.actions.report"].with_user(self.admin)._render_qweb_html(
                report.report_name, record.ids
            )
        return html.decode(), urls

    def test_qr_code_on_every_kind_of_printed_document(self):
        """Orders, delivery slips, invoices and credit notes carry a QR code that verifies them."""
        order = self._create_order()
        order.action_confirm()
        documents = [
            ("sale.action_report_saleorder", order),
            ("stock.action_report_delivery", order.picking_ids[:1]),
            ("account.account_invoices", self._invoice_of()),
            ("account.account_invoices", self._invoice_of("out_refund", price=30.0)),
        ]
        for report_xmlid, record in documents:
            html, urls = self._render(report_xmlid, record)
            self.assertIn("o_sd_verify_qr", html, record)
            self.assertIn("data:image/png;base64,", html)
            self.assertIn("Scan to verify this document", html)
            self.assertEqual(len(urls), 1, record)
            self.assertIn(VERIFY_URL, urls[0])
            token = urls[0].rsplit("/", 1)[1]
            self.assertIn("o_sd_verify_genuine", self._verify(token).text, record)
            self.assertEqual(self._verification_logs(record), ["genuine"])

    def test_no_qr_code_on_vendor_bills(self):
        bill = self.env["account.move"].create({
            "move_type": "in_invoice",
            "partner_id": self.customer.id,
            "invoice_date": "2026-01-15",
            "invoice_line_ids": [Command.create({"product_id": self.product.id, "quantity": 1, "price_unit": 10})],
        })
        html, urls = self._render("account.account_invoices", bill)
        self.assertNotIn("o_sd_verify_qr", html)
        self.assertEqual(urls, [])

    def test_zh_cn_caption(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "sales_document_audit")])._update_translations(
            filter_lang=["zh_CN"]
        )
        self.customer.lang = "zh_CN"
        html, _urls = self._render("sale.action_report_saleorder", self._create_order())
        self.assertIn("扫码验证此单据", html)

    # ------------------------------------------------------------------
    # In a real browser
    # ------------------------------------------------------------------

    def test_page_in_chromium(self):
        """Genuine, changed and forged verdicts as a phone's browser shows them."""
        order = self._create_order()
        genuine = self.Token._issue_print_token(order)
        changed_order = self._create_order()
        changed = self.Token._issue_print_token(changed_order)
        changed_order.order_line[0].price_unit = 99.0
        self._commit_point()
        check = """
            const verdict = document.querySelector('%s');
            const text = document.body.innerText;
            if (!verdict) { console.error('no verdict %s on the page'); }
            else if (%s) { console.error('unexpected content: ' + text); }
            else { console.log('test successful'); }
        """
        self.browser_js(
            VERIFY_URL + genuine,
            check % (".o_sd_verify_genuine", "genuine", f"!text.includes({order.name!r})"),
            timeout=180,
        )
        self.browser_js(
            VERIFY_URL + changed,
            check % (".o_sd_verify_changed li", "changed", "!text.includes('Lines')"),
            timeout=180,
        )
        self.browser_js(
            VERIFY_URL + _altered(genuine),
            check % (".o_sd_verify_forged", "forged", f"text.includes({order.name!r})"),
            timeout=180,
        )
