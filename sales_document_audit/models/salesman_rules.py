"""Record rule domains that restrict salespeople to their own customers.

Odoo's own salesperson rules let a salesperson see unassigned documents.
The audit addon replaces their domains (and puts Odoo's back on
uninstall). With the company setting ``sales_strict_own_customers`` off,
unassigned documents are visible again, as in standard Odoo.
"""

STRICT = "user.company_id.sales_strict_own_customers"

SALESMAN_RULES = {
    "sale.sale_order_personal_rule": (
        f"['|', ('user_id', '=', user.id), ('partner_id.commercial_partner_id.user_id', '=', user.id)] "
        f"if {STRICT} else "
        "['|', '|', ('user_id', '=', user.id), ('user_id', '=', False), "
        "('partner_id.commercial_partner_id.user_id', '=', user.id)]",
        "['|',('user_id','=',user.id),('user_id','=',False)]",
    ),
    "sale.sale_order_line_personal_rule": (
        "['|', ('order_id.user_id', '=', user.id), "
        "('order_id.partner_id.commercial_partner_id.user_id', '=', user.id)] "
        f"if {STRICT} else "
        "['|', '|', ('salesman_id', '=', user.id), ('salesman_id', '=', False), "
        "('order_id.partner_id.commercial_partner_id.user_id', '=', user.id)]",
        "['|',('salesman_id','=',user.id),('salesman_id','=',False)]",
    ),
    "sale.account_invoice_rule_see_personal": (
        "[('move_type', 'in', ('out_invoice', 'out_refund')), '|', ('invoice_user_id', '=', user.id), "
        "('commercial_partner_id.user_id', '=', user.id)] "
        f"if {STRICT} else "
        "[('move_type', 'in', ('out_invoice', 'out_refund')), '|', '|', ('invoice_user_id', '=', user.id), "
        "('invoice_user_id', '=', False), ('commercial_partner_id.user_id', '=', user.id)]",
        "[('move_type', 'in', ('out_invoice', 'out_refund')), '|', ('invoice_user_id', '=', user.id), "
        "('invoice_user_id', '=', False)]",
    ),
    "sale.account_invoice_line_rule_see_personal": (
        "[('move_id.move_type', 'in', ('out_invoice', 'out_refund')), '|', "
        "('move_id.invoice_user_id', '=', user.id), ('move_id.commercial_partner_id.user_id', '=', user.id)] "
        f"if {STRICT} else "
        "[('move_id.move_type', 'in', ('out_invoice', 'out_refund')), '|', '|', "
        "('move_id.invoice_user_id', '=', user.id), ('move_id.invoice_user_id', '=', False), "
        "('move_id.commercial_partner_id.user_id', '=', user.id)]",
        "[('move_id.move_type', 'in', ('out_invoice', 'out_refund')), '|', "
        "('move_id.invoice_user_id', '=', user.id), ('move_id.invoice_user_id', '=', False)]",
    ),
    # Odoo's sales and invoice analyses (SQL views) follow the documents.
    "sale.sale_order_report_personal_rule": (
        "['|', ('user_id', '=', user.id), ('commercial_partner_id.user_id', '=', user.id)] "
        f"if {STRICT} else "
        "['|', '|', ('user_id', '=', user.id), ('user_id', '=', False), ('commercial_partner_id.user_id', '=', user.id)]",
        "['|',('user_id','=',user.id),('user_id','=',False)]",
    ),
    "sale.account_invoice_report_rule_see_personal": (
        "['|', ('invoice_user_id', '=', user.id), ('commercial_partner_id.user_id', '=', user.id)] "
        f"if {STRICT} else "
        "['|', '|', ('invoice_user_id', '=', user.id), ('invoice_user_id', '=', False), "
        "('commercial_partner_id.user_id', '=', user.id)]",
        "['|', ('invoice_user_id', '=', user.id), ('invoice_user_id', '=', False)]",
    ),
}


def apply_salesman_rules(env, strict=True):
    """Give Odoo's salesperson rules the strict (or, on uninstall, original) domains."""
    for xmlid, (strict_domain, original_domain) in SALESMAN_RULES.items():
        rule = env.ref(xmlid, raise_if_not_found=False)
        if rule:
            # sudo: record rules are system data; this runs at installation and uninstallation only.
            rule.sudo().domain_force = strict_domain if strict else original_domain
