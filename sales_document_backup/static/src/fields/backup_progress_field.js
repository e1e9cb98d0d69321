import { useEffect } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { ConnectionLostError } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import {
    progressBarField,
    ProgressBarField,
} from "@web/views/fields/progress_bar/progress_bar_field";

/** Seconds between two reloads when the view does not say otherwise. */
export const DEFAULT_POLL_INTERVAL = 3;
/** Never poll faster than this (seconds), whatever the options say. */
const MIN_POLL_INTERVAL = 1;

/**
 * Reload a record at a fixed interval while `isActive(record)` holds.
 *
 * The process running a backup writes its progress in transactions of its
 * own; reading the record again is all a client needs to follow it, on any
 * worker behind any proxy. The timer starts when the record is (or becomes)
 * active, stops as soon as a reload shows it is not, and is cleared when the
 * component is destroyed. No reload is sent while the previous one is pending,
 * while the tab is hidden or while the record has unsaved changes.
 *
 * @param {() => import("@web/model/relational_model/record").Record} getRecord
 * @param {{ interval: number, isActive: (record) => boolean }} params
 *      interval in milliseconds
 */
export function useRecordPolling(getRecord, { interval, isActive }) {
    let timer = null;
    let loading = false;
    const stop = () => {
        clearInterval(timer);
        timer = null;
    };
    const tick = async () => {
        const record = getRecord();
        if (!isActive(record)) {
            stop();
            return;
        }
        if (loading || document.hidden || record.dirty) {
            return;
        }
        loading = true;
        try {
            await record.load();
        } catch (error) {
            // A lost connection is retried at the next tick; anything else
            // (record deleted, access removed) would fail again: stop and let
            // the standard error handling show it once.
            if (!(error instanceof ConnectionLostError)) {
                stop();
                throw error;
            }
        } finally {
            loading = false;
        }
    };
    useEffect(
        (record, active) => {
            if (active) {
                timer = setInterval(tick, interval);
            }
            // Runs when the record or its state changes and when the
            // component is destroyed.
            return stop;
        },
        () => {
            const record = getRecord();
            return [record, isActive(record)];
        }
    );
}

/**
 * The standard progress bar, following a running backup live: while the
 * record's state field (option `state_field`, default `state`) is `running`,
 * the record is reloaded every `interval` seconds (option, default 3).
 * Read-only: the value is written by the backup process, never by hand.
 */
export class BackupProgressBarField extends ProgressBarField {
    static props = {
        ...ProgressBarField.props,
        pollInterval: { type: Number },
        stateField: { type: String },
    };

    setup() {
        super.setup();
        useRecordPolling(() => this.props.record, {
            interval: this.props.pollInterval * 1000,
            isActive: (record) => record.data[this.props.stateField] === "running",
        });
    }
}

export const backupProgressBarField = {
    ...progressBarField,
    component: BackupProgressBarField,
    displayName: _t("Live Backup Progress"),
    supportedOptions: [
        ...progressBarField.supportedOptions.filter(
            (option) => !["editable", "edit_max_value"].includes(option.name)
        ),
        {
            label: _t("Reload interval (seconds)"),
            name: "interval",
            type: "number",
            default: DEFAULT_POLL_INTERVAL,
        },
        {
            label: _t("State field"),
            name: "state_field",
            type: "field",
            availableTypes: ["selection"],
            help: _t("The record is reloaded while this field is 'running'."),
        },
    ],
    // The state is read even where the view does not show it.
    fieldDependencies: ({ options }) => [
        { name: options.state_field || "state", type: "selection" },
    ],
    extractProps: (fieldInfo, dynamicInfo) => ({
        ...progressBarField.extractProps(fieldInfo, dynamicInfo),
        isEditable: false,
        pollInterval: Math.max(
            MIN_POLL_INTERVAL,
            Number(fieldInfo.options.interval) || DEFAULT_POLL_INTERVAL
        ),
        stateField: fieldInfo.options.state_field || "state",
    }),
};

registry.category("fields").add("backup_progressbar", backupProgressBarField);
