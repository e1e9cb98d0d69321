import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";

// The Python test prepares a running full backup named BACKUP_NAME at 10 %.
// The steps below write on it from the browser, as the backup process would
// from its own transactions, and never reload the view themselves: only the
// progress widget can make the new values appear.
const BACKUP_NAME = "Live progress backup";
// Longer than two reload intervals of the widget (3 s by default).
const QUIET_PERIOD = 7000;

async function writeBackup(values) {
    const model = "sales.document.backup";
    const ids = await rpc(`/web/dataset/call_kw/${model}/search`, {
        model,
        method: "search",
        args: [[["name", "=", BACKUP_NAME]]],
        kwargs: {},
    });
    if (ids.length !== 1) {
        throw new Error(`Expected one backup named ${BACKUP_NAME}, found ${ids.length}`);
    }
    await rpc(`/web/dataset/call_kw/${model}/write`, {
        model,
        method: "write",
        args: [ids, values],
        kwargs: {},
    });
}

function bar(container, percent) {
    return `${container} .o_field_backup_progressbar .o_progress[aria-valuenow='${percent}']`;
}

registry.category("web_tour.tours").add("sales_document_backup_live_progress_form", {
    steps: () => [
        {
            // The first step waits for the page itself, slower on a loaded machine.
            timeout: 30000,
            content: "The form of the running backup shows 10 %",
            trigger: bar(".o_form_view", 10),
        },
        {
            content: "The backup process reports 60 % (written behind the form)",
            trigger: bar(".o_form_view", 10),
            run: () =>
                writeBackup({ progress: 60, progress_step: "dump", progress_bytes: 3 * 1024 * 1024 }),
        },
        {
            content: "The bar and the summary follow without a reload",
            trigger: ".o_form_view .o_sdb_backup_progress:contains('Dumping the database: 60%'):has(.o_progress[aria-valuenow='60'])",
        },
        {
            content: "The backup process finishes",
            trigger: bar(".o_form_view", 60),
            run: () =>
                writeBackup({ state: "done", progress: 100, progress_step: "done", size: 4 * 1024 * 1024 }),
        },
        {
            content: "The form says the backup is done and the bar is gone",
            trigger: ".o_form_view:not(:has(.o_field_backup_progressbar)) .o_form_statusbar .o_arrow_button_current:contains('Done')",
        },
        {
            content: "The size of the finished backup is shown",
            trigger: ".o_form_view .o_field_widget[name=size_display]:contains('4.0 MB')",
        },
        {
            content: "Once done, the form is no longer reloaded",
            trigger: `.o_form_view .oe_title h1:contains('${BACKUP_NAME}')`,
            run: async () => {
                await writeBackup({ name: "Renamed after it finished" });
                await new Promise((resolve) => setTimeout(resolve, QUIET_PERIOD));
                const title = document.querySelector(".o_form_view .oe_title h1").textContent;
                if (!title.includes(BACKUP_NAME) || title.includes("Renamed")) {
                    throw new Error(`The finished backup was reloaded again (title: ${title})`);
                }
            },
        },
    ],
});

registry.category("web_tour.tours").add("sales_document_backup_live_progress_dashboard", {
    steps: () => [
        {
            // The first step waits for the page itself, slower on a loaded machine.
            timeout: 30000,
            content: "The running backup shows 10 % in the list",
            trigger: bar(`.o_list_view .o_data_row:contains('${BACKUP_NAME}')`, 10),
        },
        {
            content: "The backup process reports 35 %",
            trigger: bar(".o_list_view", 10),
            run: () => writeBackup({ progress: 35, progress_step: "dump" }),
        },
        {
            content: "The list row follows without a reload",
            trigger: bar(`.o_list_view .o_data_row:contains('${BACKUP_NAME}')`, 35),
        },
        {
            content: "Open the dashboard",
            trigger: ".o_main_navbar .o_menu_sections a:contains('Dashboard'), .o_main_navbar .o_menu_sections button:contains('Dashboard')",
            run: "click",
        },
        {
            content: "The dashboard card shows the running backup at 35 %",
            trigger: bar(".o_sdb_dashboard_card .o_sdb_running", 35),
        },
        {
            content: "The backup process reports 80 %",
            trigger: bar(".o_sdb_dashboard_card .o_sdb_running", 35),
            run: () => writeBackup({ progress: 80, progress_step: "upload" }),
        },
        {
            content: "The card follows without a reload",
            trigger: ".o_sdb_dashboard_card .o_sdb_running:contains('Copying to the destinations: 80%'):has(.o_progress[aria-valuenow='80'])",
        },
        {
            content: "The backup process finishes",
            trigger: bar(".o_sdb_dashboard_card .o_sdb_running", 80),
            run: () => writeBackup({ state: "done", progress: 100, progress_step: "done" }),
        },
        {
            content: "The card no longer shows a running backup; the last backup is done",
            trigger: ".o_sdb_dashboard_card:not(:has(.o_sdb_running)):contains('Last backup'):contains('Done')",
        },
    ],
});
