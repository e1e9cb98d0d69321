/** @odoo-module **/

import { registry } from "@web/core/registry";

// Both tours open an order prepared by the Python test (above the approval threshold).

registry.category("web_tour.tours").add("sales_document_approval_request", {
    steps: () => [
        {
            // The first step waits for the page itself, slower on a loaded machine.
            timeout: 30000,
            content: "The quotation says it needs an approval",
            trigger: ".o_form_view div[name='approval_required']:contains(Approval required)",
        },
        {
            content: "Try to confirm it anyway",
            trigger: ".o_form_statusbar button[name='action_confirm']:visible",
            run: "click",
        },
        {
            content: "The server refuses",
            trigger: ".modal .modal-body:contains(needs an approval)",
        },
        {
            content: "Close the error",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "Request the approval",
            trigger: ".o_form_statusbar button[name='action_request_approval']",
            run: "click",
        },
        {
            content: "The quotation now waits for the approver",
            trigger: ".o_form_view div[name='approval_pending']:contains(Waiting for approval)",
        },
        {
            content: "The requester cannot approve",
            trigger: ".o_form_statusbar:not(:has(button[name='action_approve']))",
        },
    ],
});

registry.category("web_tour.tours").add("sales_document_approval_approve", {
    steps: () => [
        {
            // The first step waits for the page itself, slower on a loaded machine.
            timeout: 30000,
            content: "The request is pending",
            trigger: ".o_form_view div[name='approval_pending']:contains(Waiting for approval)",
        },
        {
            content: "Approve it",
            trigger: ".o_form_statusbar button[name='action_approve']",
            run: "click",
        },
        {
            content: "The approval banner is gone",
            trigger: ".o_form_view:not(:has(div[name='approval_pending']:visible))",
        },
        {
            content: "Confirm the order",
            trigger: ".o_form_statusbar button[name='action_confirm']:visible",
            run: "click",
        },
        {
            content: "The order is confirmed",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Sales Order)",
        },
    ],
});
