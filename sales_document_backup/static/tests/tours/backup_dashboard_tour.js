import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("sales_document_backup_dashboard_tour", {
    url: "/odoo/action-sales_document_backup.sales_document_backup_dashboard_action",
    steps: () => [
        {
            // The first step waits for the page itself, slower on a loaded machine.
            timeout: 30000,
            content: "The dashboard card of the company says backups are verified",
            trigger: ".o_sdb_dashboard_card .o_sdb_status_message:contains('Backups are current and verified')",
        },
        {
            content: "The size of the last backup is shown",
            trigger: ".o_sdb_dashboard_card:contains('5.0 MB'):contains('Last verified backup')",
        },
        {
            content: "Open the list of backups",
            trigger: ".o_main_navbar .o_menu_sections a:contains('Backups'), .o_main_navbar .o_menu_sections button:contains('Backups')",
            run: "click",
        },
        {
            content: "Open the verified backup",
            trigger: ".o_list_view .o_data_row td:contains('Tour backup')",
            run: "click",
        },
        {
            content: "Show the restore tests of the backup",
            trigger: ".o_form_view .o_notebook a[name=restore_tests]",
            run: "click",
        },
        {
            content: "Its restore test is listed",
            trigger: ".o_form_view .o_field_widget[name=restore_test_ids] .o_data_row:contains('Passed')",
        },
    ],
});
