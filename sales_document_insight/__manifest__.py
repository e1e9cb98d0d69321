{
    "name": "Sales Document Insight",
    "summary": "Sales targets with pace and forecast, customer insight and RFM segments, "
    "and a Sales documents dashboard, all measured from the registry",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Sales Document Registry contributors",
    "website": "https://github.com/sales-document-registry/sales-document-registry",
    "depends": [
        "sales_team",
        "spreadsheet_dashboard",
        "sales_document_registry",
        "sales_document_service",
        "sales_document_backup",
    ],
    "data": [
        "security/ir.model.access.csv",
        "security/sales_target_security.xml",
        "data/ir_cron_data.xml",
        "views/sales_target_views.xml",
        "views/res_partner_views.xml",
        "views/sales_document_views.xml",
        "views/res_config_settings_views.xml",
        "views/sales_document_insight_menus.xml",
        "data/spreadsheet_dashboard_data.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "sales_document_insight/static/src/tests/tours/*.js",
        ],
    },
    "installable": True,
}
