import { registry } from "@web/core/registry";

const CHECKPOINTS_URL = "/odoo/action-sales_document_audit.sales_document_audit_checkpoint_action";

registry.category("web_tour.tours").add("sales_document_audit_anchor_tour", {
    url: CHECKPOINTS_URL,
    steps: () => [
        {
            // The first step waits for the page itself, slower on a loaded machine.
            timeout: 30000,
            content: "The sealed checkpoint is listed as anchored",
            trigger: ".o_list_view .o_data_row:contains('Anchored')",
        },
        {
            content: "Verify the trail against its anchors",
            trigger: ".o_list_view button:contains('Verify integrity')",
            run: "click",
        },
        {
            content: "The trail is intact and matches its anchors",
            trigger: ".o_notification:contains('Audit trail intact'):contains('match their anchors')",
        },
        {
            content: "Open the checkpoint",
            trigger: ".o_list_view .o_data_row:contains('Anchored') td.o_data_cell",
            run: "click",
        },
        {
            content: "The form shows the signing key fingerprint",
            trigger: ".o_form_view .o_field_widget[name=key_fingerprint]:contains('sha256:')",
        },
        {
            content: "The form lists where the checkpoint was anchored",
            trigger: ".o_form_view .o_field_widget[name=anchor_ids] .o_data_row:contains('local:')",
        },
    ],
});

registry.category("web_tour.tours").add("sales_document_audit_broken_tour", {
    url: CHECKPOINTS_URL,
    steps: () => [
        {
            timeout: 30000,
            content: "Verify the trail against its anchors",
            trigger: ".o_list_view button:contains('Verify integrity')",
            run: "click",
        },
        {
            content: "The notification names the first broken entry and why",
            trigger: ".o_notification:contains('Audit trail broken'):contains('An entry was changed after it was sealed.')",
        },
    ],
});
