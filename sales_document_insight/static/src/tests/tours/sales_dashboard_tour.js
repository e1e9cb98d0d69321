import { registry } from "@web/core/registry";

// A sales manager opens the "Sales documents" dashboard and drills down from a
// figure to the records behind it.
registry.category("web_tour.tours").add("sales_document_insight_dashboard_tour", {
    url: "/odoo/action-spreadsheet_dashboard.ir_actions_dashboard_action",
    steps: () => [
        {
            content: "Open the Sales documents dashboard",
            trigger: ".o_search_panel_category_value[data-name='Sales documents']",
            run: "click",
        },
        {
            content: "The dashboard is selected",
            trigger: ".o_search_panel_category_value.active[data-name='Sales documents']",
        },
        {
            content: "Its figures are loaded: the cells are clickable",
            trigger: ".o_spreadsheet_dashboard_action .o-dashboard-clickable-cell",
        },
        {
            content: "The filters by period, team and salesperson are shown",
            trigger: ".o_spreadsheet_dashboard_action .o-filter-value[title=Salesperson]",
        },
        {
            content: "Drill down from a figure",
            trigger: ".o_spreadsheet_dashboard_action .o-dashboard-clickable-cell:eq(1)",
            run: "click",
        },
        {
            content: "The records behind it are listed",
            trigger: ".o_action_manager :is(.o_list_view, .o_pivot_view) .o_control_panel",
        },
    ],
});
