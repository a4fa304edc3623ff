// What the console's panels share: tables, times, service names, messages, buttons that call the API.
import { h, mount } from "../dom.js";
import { errorText, getLang, TZ } from "../i18n.js";
import { ct } from "./words.js";

export const SERVICES = ["meal", "cleaning", "escort", "bathing", "medical"];
export const CARE_LEVELS = ["severe", "moderate", "mild", "independent", "unassessed"];

/** A table: columns [[heading, cell(row) → node|string, className?]], one row per item. */
export function table(caption, columns, rows, { rowProps } = {}) {
  return h("table.data",
    h("caption", caption),
    h("thead", h("tr", columns.map(([head, , cls]) => h("th", { scope: "col", class: cls }, head)))),
    h("tbody", rows.map((row) => h("tr", rowProps ? rowProps(row) : null,
      columns.map(([, cell, cls]) => h("td", { class: cls }, cell(row)))))));
}

/** A time in Asia/Shanghai: "12-01 09:30" (with the date) or "09:30". */
export function clock(iso, { date = true } = {}) {
  if (!iso) return "—";
  const options = { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false };
  if (date) Object.assign(options, { month: "2-digit", day: "2-digit" });
  return new Intl.DateTimeFormat(getLang() === "en" ? "en-GB" : "zh-CN", options).format(new Date(iso));
}

export const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(new Date());
export const pct = (ratio) => (ratio === null || ratio === undefined ? "—" : `${(ratio * 100).toFixed(1)}%`);
export const num = (x, digits = 0) => (x === null || x === undefined ? "—" : Number(x).toFixed(digits));
export const serviceName = (code) => ct(code);
/** Items joined as the language does: "、" in Chinese, ", " in English. */
export const joined = (items) => items.join(getLang() === "en" ? ", " : "、");

/** A place for a panel's messages (role=status, polite) with show(text, kind). */
export function messages() {
  const box = h("div.messages", { role: "status", "aria-live": "polite" });
  box.show = (text, kind = "ok") => mount(box, text ? h(`p.msg.${kind}`, text) : null);
  return box;
}

/** A button that runs an async action, disabled meanwhile; errors go to box (a messages()). */
export function action(label, run, box, { cls = "secondary", props = {} } = {}) {
  const button = h(`button.${cls}`, { type: "button", ...props }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try { await run(); } catch (e) { box?.show(errorText(e), "error"); } finally { button.disabled = false; }
  });
  return button;
}

/** A labelled field: <label><span>label</span>input</label>. */
export const field = (label, input) => h("label.field", h("span.field-label", label), input);

/** Load a panel's data into a container, showing loading and errors. */
export async function load(container, fetcher, draw) {
  mount(container, h("p.loading", ct("loading")));
  try {
    const data = await fetcher();
    mount(container, draw(data));
  } catch (e) {
    mount(container, h("p.msg.error", { role: "alert" }, errorText(e)));
  }
}

/** A query string from an object, skipping empty values. */
export const qs = (params) => {
  const s = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined));
  return s.toString() ? `?${s}` : "";
};

/** Communities by id (for names), loaded once. */
let communities = null;
export async function communityNames(api) {
  if (!communities) {
    try { communities = new Map((await api("/communities")).map((c) => [c.id, c])); } catch { communities = new Map(); }
  }
  return communities;
}
