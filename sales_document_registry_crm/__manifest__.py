{
    "name": "Sales Document Registry - Opportunities",
    "summary": "Opportunities in the sales document registry and the customer's history",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Sales Document Registry contributors",
    "website": "https://github.com/sales-document-registry/sales-document-registry",
    "depends": ["sales_document_registry", "sale_crm"],
    "data": [],
    "uninstall_hook": "uninstall_hook",
    "auto_install": True,
    "installable": True,
}
