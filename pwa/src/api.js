// JSON over /api/v1 with the session cookie; unsafe requests echo the linli_csrf cookie.
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    Object.assign(this, { status, code, details });
  }
}

const csrf = () => document.cookie.split("; ").find((c) => c.startsWith("linli_csrf="))?.slice(11);

export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const all = { ...headers };
  if (body !== undefined) all["Content-Type"] = "application/json";
  if (method !== "GET" && csrf()) all["X-CSRF-Token"] = decodeURIComponent(csrf());
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method, credentials: "same-origin", headers: all, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "network");
  }
  const text = response.status === 204 ? "" : await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const e = data?.error || {};
    // The session ended (signed out elsewhere, expired, password changed): back to the sign-in screen.
    if (response.status === 401 && !path.startsWith("/auth/")) window.dispatchEvent(new Event("linli:signed-out"));
    throw new ApiError(response.status, e.code || `http_${response.status}`, e.message || response.statusText, e.details);
  }
  return data;
}

/** A fresh Idempotency-Key (random, no personal data). */
export const newKey = () => (crypto.randomUUID ? crypto.randomUUID()
  : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(""));
