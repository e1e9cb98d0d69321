{
    "name": "Sales Document Audit - Backup",
    "summary": "Audit checkpoints in backups and the journal, signed checkpoints anchored on S3 "
    "destinations with Object Lock; journal restores in the audit trail",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Sales Document Registry contributors",
    "website": "https://github.com/sales-document-registry/sales-document-registry",
    "depends": ["sales_document_audit", "sales_document_backup"],
    "data": [
        "views/sales_document_backup_destination_views.xml",
    ],
    "auto_install": True,
    "installable": True,
}
