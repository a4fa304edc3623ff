// First-run profiles: a senior's own profile, a provider's profile; a senior adding family.
import { h } from "../dom.js";
import { api } from "../api.js";
import { t, errorText } from "../i18n.js";
import { state, refresh, toast } from "../store.js";
import { SERVICES } from "./booking.js";

function field(label, input) {
  return h("label.field", h("span.field-label", label), input);
}

async function submit(form, fn) {
  const button = form.querySelector("button[type=submit]");
  const out = form.querySelector(".form-error");
  button.disabled = true;
  out.textContent = "";
  try { await fn(new FormData(form)); } catch (e) { out.textContent = errorText(e); } finally { button.disabled = false; }
}

export function seniorProfileForm() {
  const form = h("form.card", { id: "senior-profile" },
    h("h1", t("profileTitle")),
    field(t("name"), h("input", { name: "name", required: true, value: state.user.name, autocomplete: "name" })),
    field(t("address"), h("input", { name: "address", required: true, autocomplete: "street-address" })),
    field(t("birthYear"), h("input", { name: "birth_year", type: "number", min: 1900, max: 1980, required: true, inputmode: "numeric" })),
    field(t("contactName"), h("input", { name: "contact_name" })),
    field(t("contactPhone"), h("input", { name: "contact_phone", type: "tel", inputmode: "numeric" })),
    h("p.form-error", { role: "alert" }),
    h("button.primary.big", { type: "submit" }, t("save")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit(form, async (d) => {
      const body = { name: d.get("name"), address: d.get("address"), birth_year: Number(d.get("birth_year")) };
      if (d.get("contact_phone")) body.emergency_contacts = [{ name: d.get("contact_name") || t("family"), phone: d.get("contact_phone"), relation: t("family") }];
      await api("/seniors", { method: "POST", body });
      await refresh();
    });
  });
  return form;
}

export function providerProfileForm() {
  const lat = h("input", { type: "hidden", name: "lat" });
  const lon = h("input", { type: "hidden", name: "lon" });
  const where = h("p.hint", { "aria-live": "polite" });
  const form = h("form.card", { id: "provider-profile" },
    h("h1", t("profileTitle")),
    field(t("name"), h("input", { name: "name", required: true, value: state.user.name })),
    h("fieldset", h("legend", t("services")),
      SERVICES.map((code) => h("label.check", h("input", { type: "checkbox", name: "services", value: code, checked: code === "meal" }), t(code)))),
    field(t("radius"), h("input", { name: "radius", type: "number", min: 1, max: 30, value: 5, inputmode: "numeric" })),
    h("button.secondary", { type: "button", onclick: () => {
      where.textContent = t("locating");
      navigator.geolocation.getCurrentPosition((p) => {
        lat.value = p.coords.latitude.toFixed(4); lon.value = p.coords.longitude.toFixed(4);
        where.textContent = `${lat.value}, ${lon.value}`;
      }, () => { where.textContent = t("needLocation"); }, { timeout: 10000 });
    } }, t("useMyPlace")), where, lat, lon,
    h("p.form-error", { role: "alert" }),
    h("button.primary.big", { type: "submit" }, t("save")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit(form, async (d) => {
      if (!d.get("lat")) throw new Error(t("needLocation"));
      await api("/providers", { method: "POST", body: {
        name: d.get("name"), services: d.getAll("services"), base_lat: Number(d.get("lat")), base_lon: Number(d.get("lon")),
        service_radius_km: Number(d.get("radius")) } });
      await refresh();
      toast(t("pendingVerify"));
    });
  });
  return form;
}

export function addFamilyForm(seniorId) {
  const form = h("form.card", { id: "add-family" },
    h("h2", t("addFamily")),
    field(t("phone"), h("input", { name: "phone", type: "tel", inputmode: "numeric", required: true })),
    field(t("relation"), h("input", { name: "relation", required: true, value: "子女" })),
    h("p.form-error", { role: "alert" }),
    h("button.primary", { type: "submit" }, t("addFamily")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit(form, async (d) => {
      await api(`/seniors/${seniorId}/family`, { method: "POST", body: { phone: d.get("phone"), relation: d.get("relation") } });
      form.reset();
      toast(t("added"));
    });
  });
  return form;
}
