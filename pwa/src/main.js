// A first shell of the phone app: sign in and see your own data. The full app comes with the PWA issue.
import "./style.css";

const api = async (path, options = {}) => {
  const csrf = document.cookie.split("; ").find((c) => c.startsWith("linli_csrf="))?.split("=")[1];
  const headers = { "Content-Type": "application/json", ...(csrf ? { "X-CSRF-Token": csrf } : {}) };
  const response = await fetch(`/api/v1${path}`, { credentials: "same-origin", ...options, headers });
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(body?.error?.message || response.statusText);
  return body;
};

const show = async () => {
  try {
    const { user } = await api("/me");
    document.getElementById("login").hidden = true;
    document.getElementById("home").hidden = false;
    document.getElementById("hello").textContent = `您好，${user.name}`;
    const list = document.getElementById("seniors");
    list.replaceChildren();
    if (["senior", "family", "center_staff", "admin"].includes(user.role)) {
      for (const s of await api("/seniors?limit=20")) {
        const li = document.createElement("li");
        li.textContent = `${s.name} · ${s.birth_year} 年生${s.living_alone ? " · 独居" : ""}`;
        list.append(li);
      }
    }
  } catch {
    document.getElementById("login").hidden = false;
    document.getElementById("home").hidden = true;
  }
};

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    await api("/auth/login", { method: "POST", body: JSON.stringify(Object.fromEntries(form)) });
    await show();
  } catch (error) {
    document.getElementById("login-error").textContent = error.message;
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  await api("/auth/logout", { method: "POST" });
  await show();
});

show();
