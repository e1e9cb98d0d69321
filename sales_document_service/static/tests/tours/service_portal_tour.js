import { registry } from "@web/core/registry";

// A customer opens their order in the portal and files a service request.
registry.category("web_tour.tours").add("sales_document_service_file_tour", {
    steps: () => [
        {
            // The first step waits for the page itself, slower on a loaded machine.
            timeout: 30000,
            content: "The order page offers to request service",
            trigger: "a.o_service_request_new",
            run: "click",
        },
        {
            content: "Choose the type of request",
            trigger: "select[name=request_type]",
            run: "select repair",
        },
        {
            content: "Pick the delivery concerned",
            trigger: "select[name=picking_id]",
            run: "selectByIndex 1",
        },
        {
            content: "Describe the problem",
            trigger: "textarea[name=description]",
            run: "edit The motor stopped after two days.",
        },
        {
            content: "Send the request",
            trigger: "button.o_service_request_submit",
            run: "click",
        },
        {
            content: "The request page shows the new request, still open",
            trigger: ".o_service_request_page:contains('The motor stopped after two days.') .o_service_request_stage:contains('New')",
        },
    ],
});

// Once the request is done, the customer rates it from the portal.
registry.category("web_tour.tours").add("sales_document_service_rate_tour", {
    steps: () => [
        {
            timeout: 30000,
            content: "Open the request from the list of service requests",
            trigger: "a.o_service_request_link",
            run: "click",
        },
        {
            content: "The request is done and can be rated",
            trigger: ".o_service_request_page .o_service_request_stage:contains('Done')",
        },
        {
            content: "Give five out of five",
            trigger: "#service_rating_5",
            run: "click",
        },
        {
            content: "Leave a comment",
            trigger: ".o_service_request_rate_form textarea[name=comment]",
            run: "edit Repaired quickly, thank you.",
        },
        {
            content: "Send the rating",
            trigger: "button.o_service_request_rate_submit",
            run: "click",
        },
        {
            content: "The page shows the rating given",
            trigger: ".o_service_request_rated:contains('5'):contains('Repaired quickly, thank you.')",
        },
    ],
});
