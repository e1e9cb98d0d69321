import { registry } from "@web/core/registry";

// A salesperson opens "My targets" and sees her target's progress and pace;
// the target and her confirmed order are prepared by the Python test.
registry.category("web_tour.tours").add("sales_document_insight_my_targets_tour", {
    url: "/odoo/action-sales_document_insight.sales_target_action_my",
    steps: () => [
        {
            content: "Her target card is shown",
            trigger: ".o_kanban_record:contains(Sally Seller)",
        },
        {
            content: "The card shows what she achieved so far",
            trigger: ".o_kanban_record .o_field_widget[name=live_amount]:contains(/[1-9]/)",
        },
        {
            content: "The card shows her progress",
            trigger: ".o_kanban_record .o_sales_target_progress .o_progressbar_value:contains(25)",
        },
        {
            content: "The card shows her pace",
            trigger: ".o_kanban_record .o_sales_target_pace:contains(/Ahead|On track|Behind/)",
        },
        {
            content: "Open the target",
            trigger: ".o_kanban_record:contains(Sally Seller)",
            run: "click",
        },
        {
            content: "The form shows the expected pace",
            trigger: ".o_form_view .o_field_widget[name=live_pace_expected]",
        },
    ],
});
