// The offline booking queue in IndexedDB: ids and choices only (senior id, service, time), never a
// note, an address or anything about health. Each entry keeps its Idempotency-Key, so a booking
// sent twice (a retry after a lost answer) is still made once.
const DB = "linli";
const STORE = "bookings";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "key" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const result = fn(t.objectStore(STORE));
    t.oncomplete = () => { db.close(); resolve(result?.result ?? result); };
    t.onerror = () => { db.close(); reject(t.error); };
  });
}

/** Keep a booking to send later: {key, user_id, senior_id, service_type, scheduled_start}. */
export const enqueue = (entry) => tx("readwrite", (s) => s.put({ ...entry, state: "waiting", queued_at: Date.now() }));
export const queued = (userId) => tx("readonly", (s) => s.getAll())
  .then((all) => all.filter((e) => e.user_id === userId).sort((a, b) => a.queued_at - b.queued_at));
export const drop = (key) => tx("readwrite", (s) => s.delete(key));
export const markRefused = (entry, message) => tx("readwrite", (s) => s.put({ ...entry, state: "refused", error: message }));
