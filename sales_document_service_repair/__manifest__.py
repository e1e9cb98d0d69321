{
    "name": "Sales Document Service - Repairs",
    "summary": "Repair orders created from after-sales service requests",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Sales Document Registry contributors",
    "website": "https://github.com/sales-document-registry/sales-document-registry",
    "depends": ["sales_document_service", "repair"],
    "data": [
        "views/sales_service_request_views.xml",
        "views/repair_order_views.xml",
        "views/stock_picking_views.xml",
    ],
    "auto_install": True,
    "installable": True,
}
