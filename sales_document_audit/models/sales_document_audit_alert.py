import json
from collections import defaultdict
from datetime import timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

ALERT_RULES = [
    ("frequent_access", "Same document accessed too often"),
    ("denied", "Access to another salesperson's customer"),
    ("mass_export", "Mass export"),
    ("off_hours", "Off-hours activity"),
    ("edit_after_validation", "Edit after posting or validation"),
    ("anchor_failed", "Audit checkpoint not anchored"),
    ("chain_restarted", "Audit chain started anew"),
]

WATERMARK_PARAM = "sales_document_audit.alert_watermark"

# Fields the detection fills in; nobody changes them afterwards.
ALERT_EVIDENCE_FIELDS = (
    "name", "rule", "user_id", "res_model", "res_id", "res_name", "company_id", "details", "log_ids", "date",
)


class SalesDocumentAuditAlert(models.Model):
    """An anomaly found in the audit trail, handled by the security officers."""

    _name = "sales.document.audit.alert"
    _description = "Sales Document Audit Alert"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    name = fields.Char(compute="_compute_name", store=True)
    rule = fields.Selection(ALERT_RULES, required=True, readonly=True, index=True)
    user_id = fields.Many2one("res.users", string="User", readonly=True, index=True)
    res_model = fields.Char(string="Document model", readonly=True)
    res_id = fields.Many2oneReference(string="Document ID", model_field="res_model", readonly=True)
    res_name = fields.Char(string="Document", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True, index=True)
    state = fields.Selection(
        [("new", "New"), ("acknowledged", "Acknowledged"), ("resolved", "Resolved"), ("dismissed", "Dismissed")],
        default="new",
        required=True,
        tracking=True,
        index=True,
    )
    details = fields.Text(readonly=True)
    log_ids = fields.Many2many("sales.document.audit.log", string="Audit entries", readonly=True)
    date = fields.Datetime(default=fields.Datetime.now, readonly=True)
    resolution_note = fields.Text(string="Resolution note")

    @api.depends("rule", "user_id", "res_name")
    def _compute_name(self):
        labels = dict(self._fields["rule"]._description_selection(self.env))
        for alert in self:
            parts = [labels.get(alert.rule, ""), alert.user_id.name or "", alert.res_name or ""]
            alert.name = " - ".join(part for part in parts if part)

    # ------------------------------------------------------------------
    # CRUD: alerts are audited themselves and reach the officers
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        alerts = super().create(vals_list)
        alerts._audit_alert("create", lambda alert: {"rule": [None, alert.rule], "state": [None, alert.state]})
        alerts._notify_officers()
        return alerts

    def write(self, vals):
        # What the detection found is evidence: officers change only how the
        # alert is handled, whatever a client sends.
        protected = set(vals) & set(ALERT_EVIDENCE_FIELDS)
        if protected and not self.env.su:
            raise AccessError(_(
                "Audit alerts keep what the detection found; only their state and resolution note "
                "can be changed (refused: %(fields)s).",
                fields=", ".join(sorted(protected)),
            ))
        old_states = {alert.id: alert.state for alert in self}
        result = super().write(vals)
        if "state" in vals:
            self._audit_alert("write", lambda alert: {"state": [old_states[alert.id], alert.state]})
        return result

    def _audit_alert(self, operation, changes):
        self.env["sales.document.audit.log"]._insert_record_rows(self, operation, changes)

    def _security_officers(self):
        group = self.env.ref("sales_document_audit.group_security_officer")
        return group.users.filtered(lambda user: user.active and not user.share)

    def _notify_officers(self):
        officers = self._security_officers()
        if not officers:
            return
        activity_type = self.env.ref("mail.mail_activity_data_todo")
        # sudo: activities go to officers the user who triggered the alert may not see.
        for alert in self.sudo():
            company_officers = officers.filtered(lambda user, a=alert: a.company_id in user.company_ids)
            for officer in company_officers:
                alert.activity_schedule(
                    activity_type_id=activity_type.id,
                    user_id=officer.id,
                    summary=_("Review audit alert: %(name)s", name=alert.name),
                    note=alert.details or "",
                )
            alert.message_post(
                body=_("New audit alert: %(name)s", name=alert.name),
                partner_ids=company_officers.partner_id.ids,
                message_type="notification",
                subtype_xmlid="mail.mt_note",
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_acknowledge(self):
        """Mark the alerts as being looked into."""
        self.write({"state": "acknowledged"})
        return True

    def action_resolve(self):
        """Close the alerts as handled."""
        self.write({"state": "resolved"})
        self.activity_feedback(["mail.mail_activity_data_todo"])
        return True

    def action_dismiss(self):
        """Close the alerts as false positives."""
        self.write({"state": "dismissed"})
        self.activity_feedback(["mail.mail_activity_data_todo"])
        return True

    def action_open_document(self):
        """Open the document the alert is about."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "views": [(False, "form")],
        }

    # ------------------------------------------------------------------
    # Detection
    # ------------------------------------------------------------------

    @api.model
    def _cron_detect(self):
        """Scheduled job: look for anomalies in the entries since the last run."""
        # sudo: the watermark is a system parameter, readable by administrators only.
        params = self.env["ir.config_parameter"].sudo()
        watermark = int(params.get_param(WATERMARK_PARAM, "0") or 0)
        self.env.cr.execute(SQL(
            """SELECT id, res_model, res_id, res_name, operation, user_id, timestamp, changes, company_id
                 FROM sales_document_audit_log
                WHERE id > %s AND res_model != %s ORDER BY id""",
            watermark, self._name,
        ))
        logs = self.env.cr.dictfetchall()
        if not logs:
            return self.browse()
        alerts = self._detect(logs)
        params.set_param(WATERMARK_PARAM, str(logs[-1]["id"]))
        return alerts

    @api.model
    def _detect(self, logs):
        """Create the alerts the given audit rows (dicts) call for."""
        # sudo: the rows may belong to companies the running user is not in.
        companies = {
            company.id: company for company in self.env["res.company"].sudo().browse(
                {log["company_id"] for log in logs if log["company_id"]}
            )
        }
        candidates = []
        candidates += self._detect_frequent_access(logs, companies)
        candidates += self._detect_denied(logs, companies)
        for log in logs:
            company = companies.get(log["company_id"])
            if not company:
                continue
            changes = json.loads(log["changes"] or "{}")
            if log["operation"] == "export" and changes.get("count", 0) > company.audit_export_limit:
                candidates.append(self._prepare_alert_vals("mass_export", log, _(
                    "%(count)s rows exported at once (limit %(limit)s).",
                    count=changes["count"], limit=company.audit_export_limit,
                )))
            elif log["operation"] == "read" and changes.get("count", 0) > company.audit_export_limit:
                # A large read over RPC is an export by other means.
                candidates.append(self._prepare_alert_vals("mass_export", log, _(
                    "%(count)s rows read in one call (%(method)s, limit %(limit)s).",
                    count=changes["count"], method=changes.get("method") or "", limit=company.audit_export_limit,
                )))
            if company.audit_edit_after_validation and log["operation"] == "write" and changes.get("after_validation"):
                candidates.append(self._prepare_alert_vals("edit_after_validation", log, _(
                    "Changed after validation: %(fields)s",
                    fields=", ".join(sorted(changes.get("fields") or {})) or _("lines"),
                )))
            if company.audit_off_hours_enabled and log["user_id"] and self._is_off_hours(log, company):
                candidates.append(self._prepare_alert_vals("off_hours", log, _(
                    "Activity (%(operation)s) outside office hours at %(time)s.",
                    operation=log["operation"], time=fields.Datetime.to_string(log["timestamp"]),
                ), per_document=False))
        return self._create_new_alerts(candidates)

    @api.model
    def _prepare_alert_vals(self, rule, log, details, per_document=True):
        return {
            "rule": rule,
            "user_id": log["user_id"],
            "res_model": log["res_model"] if per_document else False,
            "res_id": log["res_id"] if per_document else False,
            "res_name": log["res_name"] if per_document else False,
            "company_id": log["company_id"],
            "details": details,
            "log_ids": [fields.Command.link(log["id"])],
            "date": log["timestamp"],
        }

    @api.model
    def _detect_frequent_access(self, logs, companies):
        latest = {}
        for log in logs:
            if log["operation"] in ("read", "write", "create", "print") and log["user_id"]:
                latest[(log["user_id"], log["res_model"], log["res_id"])] = log
        result = []
        for (user_id, model, res_id), log in latest.items():
            company = companies.get(log["company_id"])
            if not company or company.audit_frequency_limit <= 0:
                continue
            since = log["timestamp"] - timedelta(minutes=company.audit_frequency_window)
            self.env.cr.execute(SQL(
                """SELECT count(*) FROM sales_document_audit_log
                    WHERE user_id = %s AND res_model = %s AND res_id = %s AND timestamp >= %s
                      AND operation IN ('read', 'write', 'create', 'print')""",
                user_id, model, res_id, since,
            ))
            count = self.env.cr.fetchone()[0]
            if count > company.audit_frequency_limit:
                result.append(self._prepare_alert_vals("frequent_access", log, _(
                    "%(count)s accesses within %(minutes)s minutes (limit %(limit)s).",
                    count=count, minutes=company.audit_frequency_window, limit=company.audit_frequency_limit,
                )))
        return result

    @api.model
    def _detect_denied(self, logs, companies):
        per_user = defaultdict(list)
        for log in logs:
            if log["operation"] == "denied" and log["user_id"]:
                per_user[(log["user_id"], log["company_id"])].append(log)
        result = []
        for (user_id, company_id), denied in per_user.items():
            company = companies.get(company_id)
            if not company:
                continue
            since = denied[-1]["timestamp"] - timedelta(minutes=company.audit_frequency_window)
            self.env.cr.execute(SQL(
                """SELECT count(*) FROM sales_document_audit_log
                    WHERE user_id = %s AND operation = 'denied' AND timestamp >= %s""",
                user_id, since,
            ))
            count = self.env.cr.fetchone()[0]
            if count >= max(company.audit_denied_limit, 1):
                for log in denied:
                    result.append(self._prepare_alert_vals("denied", log, _(
                        "Tried to open %(document)s, a document of a customer that is not theirs "
                        "(%(count)s denied attempts).",
                        document=log["res_name"], count=count,
                    )))
        return result

    @api.model
    def _is_off_hours(self, log, company):
        # sudo: the user's time zone, whoever acted, including archived users.
        user = self.env["res.users"].sudo().browse(log["user_id"])
        if user._is_public():
            # Customers scanning a printed document's QR code in the evening are not staff at work.
            return False
        tz = pytz.timezone(user.tz or company.partner_id.tz or "UTC")
        local = pytz.utc.localize(log["timestamp"]).astimezone(tz)
        hour = local.hour + local.minute / 60.0
        start, end = company.audit_office_hour_start, company.audit_office_hour_end
        if start <= end:
            return not (start <= hour < end)
        return end <= hour < start

    @api.model
    def _sd_raise_integrity_alert(self, rule, company_id, details):
        """Alert the officers about the trail itself (anchoring, a new chain); one open alert per rule and company."""
        domain = [("rule", "=", rule), ("company_id", "=", company_id or False), ("state", "in", ("new", "acknowledged"))]
        # sudo: raised by the sealing job for whoever runs it; officers read alerts through their rules.
        if self.sudo().search_count(domain, limit=1):
            return self.browse()
        return self.sudo().create({
            "rule": rule, "company_id": company_id or False, "details": details, "date": fields.Datetime.now(),
        })

    @api.model
    def _create_new_alerts(self, candidates):
        """Create the candidate alerts that do not duplicate an open one."""
        seen = set()
        to_create = []
        for vals in candidates:
            key = (vals["rule"], vals["user_id"], vals["res_model"], vals["res_id"])
            if vals["rule"] == "off_hours":
                key += (fields.Date.to_string(vals["date"]),)
            if key in seen:
                continue
            seen.add(key)
            domain = [
                ("rule", "=", vals["rule"]),
                ("user_id", "=", vals["user_id"]),
                ("res_model", "=", vals["res_model"]),
                ("res_id", "=", vals["res_id"]),
                ("state", "in", ("new", "acknowledged")),
            ]
            if vals["rule"] == "off_hours":
                domain.append(("date", ">=", fields.Datetime.start_of(vals["date"], "day")))
            # sudo: an open alert counts even when the running user cannot read it.
            if self.sudo().search_count(domain, limit=1):
                continue
            to_create.append(vals)
        return self.sudo().create(to_create) if to_create else self.browse()
