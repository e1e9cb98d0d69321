import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import tourUtils from "@sale/js/tours/tour_utils";

// A salesperson creates a quotation, confirms it and follows its chain of
// documents; the data (customer, product) is prepared by the Python test.
registry.category("web_tour.tours").add("sales_document_registry_order_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("sale.sale_menu_root", "Open the Sales app"),
        ...tourUtils.createNewSalesOrder(),
        ...tourUtils.selectCustomer("Tour Customer"),
        ...tourUtils.addProduct("Tour Widget"),
        {
            content: "The line is priced",
            trigger: ".o_data_row td[name=price_subtotal]:contains(10.00)",
        },
        {
            content: "Save the quotation",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_saved",
        },
        {
            content: "The payment method comes from the customer",
            trigger: ".o_field_widget[name=preferred_payment_method_line_id] input:value(/Manual/)",
        },
        {
            content: "Confirm the order",
            trigger: "button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The order is confirmed",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Sales Order)",
        },
        {
            content: "Open the document flow",
            trigger: "button[name=action_open_document_flow]",
            run: "click",
        },
        {
            content: "The flow shows the delivery created by the confirmation",
            trigger: ".modal .o_sales_document_flow a:contains(/OUT/)",
        },
        {
            content: "Close the flow",
            trigger: ".modal-footer button:contains(Close)",
            run: "click",
        },
    ],
});

registry.category("web_tour.tours").add("sales_document_registry_list_tour", {
    url: "/odoo/action-sales_document_registry.sales_document_action",
    steps: () => [
        {
            // The first step waits for the page itself, slower on a loaded machine.
            timeout: 30000,
            content: "The order is in the registry",
            trigger: ".o_data_row:contains(Tour Customer) .o_field_badge:contains(Sales Order)",
        },
        {
            content: "Its delivery is in the registry too",
            trigger: ".o_data_row:contains(Tour Customer) .o_field_badge:contains(Delivery)",
        },
        {
            content: "Open the delivery from its row",
            trigger: ".o_data_row:contains(Tour Customer):contains(/OUT/) td.o_data_cell[name=name]",
            run: "click",
        },
        {
            content: "The real delivery opens",
            trigger: ".o_form_view .o_last_breadcrumb_item:contains(/OUT/)",
        },
    ],
});
