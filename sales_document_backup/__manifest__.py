{
    "name": "Sales Document Backup",
    "summary": "Encrypted, redundant backups, a per-document journal and "
    "scheduled restore tests",
    "version": "18.0.1.2.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Sales Document Registry contributors",
    "website": "https://github.com/sales-document-registry/sales-document-registry",
    "depends": ["sales_document_registry", "mail"],
    "external_dependencies": {"python": ["cryptography", "boto3"]},
    "data": [
        "security/sales_document_backup_groups.xml",
        "security/ir.model.access.csv",
        "security/sales_document_backup_security.xml",
        "data/ir_config_parameter_data.xml",
        "data/ir_cron_data.xml",
        "wizards/sales_document_backup_journal_restore_views.xml",
        "views/sales_document_backup_destination_views.xml",
        "views/sales_document_backup_views.xml",
        "views/sales_document_backup_restore_test_views.xml",
        "views/sales_document_backup_journal_views.xml",
        "views/sales_document_backup_dashboard_views.xml",
        "views/sales_document_backup_menus.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "sales_document_backup/static/src/**/*",
        ],
        "web.assets_tests": [
            "sales_document_backup/static/tests/tours/*.js",
        ],
    },
    "installable": True,
    "application": False,
}
