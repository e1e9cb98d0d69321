{
    "name": "Sales Document Audit",
    "summary": "Tamper-evident audit trail, access logging, anomaly alerts and "
    "role-based access for sales documents",
    "version": "18.0.1.1.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Sales Document Registry contributors",
    "website": "https://github.com/sales-document-registry/sales-document-registry",
    "depends": ["sales_document_registry", "mail"],
    "external_dependencies": {"python": ["xlsxwriter", "cryptography"]},
    "data": [
        "security/sales_document_audit_groups.xml",
        "security/ir.model.access.csv",
        "security/sales_document_audit_security.xml",
        "data/sales_document_audit_rule_data.xml",
        "data/ir_cron_data.xml",
        "views/sales_document_audit_log_views.xml",
        "views/sales_document_audit_alert_views.xml",
        "views/sales_document_audit_config_views.xml",
        "views/sales_document_audit_export_views.xml",
        "views/document_views.xml",
        "views/sales_document_audit_menus.xml",
        "report/sales_document_audit_log_report.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "sales_document_audit/static/tests/tours/*.js",
        ],
    },
    "uninstall_hook": "uninstall_hook",
    "installable": True,
    "application": False,
}
