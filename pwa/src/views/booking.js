// Booking in three taps: service → when (现在 / 今天某时 / 明天某时) → confirm. No date typing.
import { h, icon } from "../dom.js";
import { t, when, errorText } from "../i18n.js";
import { state, book, toast, seniorName } from "../store.js";
import { navigate } from "../main.js";
import { weeklyView } from "./weekly.js";
import { planRoutes } from "./plans.js";

export const SERVICES = ["meal", "cleaning", "escort", "bathing", "medical"];
const HOUR = 3600000;

/** The five big service buttons (icon and word), each leading to "when". */
export function serviceGrid(seniorId) {
  return h("nav.services", { "aria-label": t("services") },
    SERVICES.map((code) => h("a.service", { href: `/book/${seniorId}/${code}`, "data-link": "", dataset: { service: code } },
      icon(code, 48), h("span.service-label", { "data-speak": "" }, t(code)))));
}

/** Times on a Shanghai clock (UTC+8, no daylight saving): the choices for today and tomorrow. */
function slots() {
  const now = Date.now();
  const sh = new Date(now + 8 * HOUR);
  const midnight = Date.UTC(sh.getUTCFullYear(), sh.getUTCMonth(), sh.getUTCDate()) - 8 * HOUR; // Shanghai 00:00 in UTC ms
  const today = [9, 11, 14, 16, 18].map((hr) => midnight + hr * HOUR).filter((ms) => ms > now + HOUR).slice(0, 3);
  const tomorrow = [9, 11, 15].map((hr) => midnight + 24 * HOUR + hr * HOUR);
  return { today, tomorrow };
}

function backLink(href) {
  return h("a.back", { href, "data-link": "" }, "‹ ", t("back"));
}

function whenView(seniorId, service) {
  const { today, tomorrow } = slots();
  const base = `/book/${seniorId}/${service}`;
  const choice = (key, label) => h("a.choice", { href: `${base}/${key}`, "data-link": "", dataset: { when: key } }, label);
  return h("section.booking",
    backLink(state.user.role === "family" ? `/book/${seniorId}` : "/"),
    h("h1", { "data-speak": "" }, t(service), " · ", t("when")),
    h("div.choices",
      choice("now", t("now")),
      today.map((ms) => choice(String(ms), when(new Date(ms).toISOString()))),
      tomorrow.map((ms) => choice(String(ms), when(new Date(ms).toISOString()))),
      choice("weekly", t("everyWeek")))); // a recurring plan: views/weekly.js
}

function confirmView(seniorId, service, key) {
  const start = key === "now" ? null : new Date(Number(key)).toISOString();
  const note = h("textarea.note", { id: "note", name: "note", rows: 2, maxLength: 500 });
  const button = h("button.primary.big", { type: "button", id: "confirm" }, t("confirm"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const result = await book({ senior_id: Number(seniorId), service_type: service, scheduled_start: start,
        notes: note.value.trim() || undefined });
      toast(result.queued ? `${t("waiting")}：${t(service)}` : `${t("booked")}：${t(service)}`);
      navigate(state.user.role === "family" ? `/senior/${seniorId}` : "/", { replace: true });
    } catch (e) {
      button.disabled = false;
      toast(errorText(e), "error");
    }
  });
  return h("section.booking",
    backLink(`/book/${seniorId}/${service}`),
    h("h1", { "data-speak": "" }, t("confirmTitle")),
    h("dl.summary",
      state.user.role === "family" ? [h("dt", t("name")), h("dd", { "data-speak": "" }, seniorName(Number(seniorId)))] : null,
      h("dt", t("services")), h("dd", { "data-speak": "" }, t(service)),
      h("dt", t("when")), h("dd", { "data-speak": "" }, start ? when(start) : t("now"))),
    button,
    h("label.note-label", { for: "note" }, t("note")), note);
}

function serviceView(seniorId) {
  return h("section.booking",
    backLink("/"),
    h("h1", { "data-speak": "" }, t("bookFor", { name: seniorName(Number(seniorId)) })),
    serviceGrid(seniorId));
}

function pickView() {
  if (state.seniors.length === 1) { queueMicrotask(() => navigate(`/book/${state.seniors[0].id}`, { replace: true })); }
  return h("section.booking", backLink("/"), h("h1", t("pickSenior")),
    h("div.choices", state.seniors.map((s) => h("a.choice", { href: `/book/${s.id}`, "data-link": "" }, s.name))));
}

export const bookingRoutes = [
  [/^\/book\/?$/, pickView],
  [/^\/book\/(\d+)\/?$/, serviceView],
  [/^\/book\/(\d+)\/(meal|cleaning|escort|bathing|medical)\/?$/, whenView],
  [/^\/book\/(\d+)\/(meal|cleaning|escort|bathing|medical)\/(now|\d+)$/, confirmView],
  [/^\/book\/(\d+)\/(meal|cleaning|escort|bathing|medical)\/weekly$/, weeklyView],
  ...planRoutes,
];
