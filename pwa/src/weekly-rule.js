// A weekly plan's rule and first start, shared by the phone app's 每周… and the console's hotline
// panel (no UI here: both pages import it without the other's code).
export const BYDAY = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]; // 一 … 日, the order shown
const HOUR = 3600000;

/** The first chosen weekday at that time, at least 30 minutes from now, as Shanghai wall-clock "YYYY-MM-DDTHH:MM:00". */
export function nextStart(days, time, now = Date.now()) {
  const [hr, min] = time.split(":").map(Number);
  const sh = new Date(now + 8 * HOUR);
  for (let i = 0; i < 8; i += 1) {
    const local = new Date(Date.UTC(sh.getUTCFullYear(), sh.getUTCMonth(), sh.getUTCDate() + i, hr, min));
    if (days.has(BYDAY[(local.getUTCDay() + 6) % 7]) && local.getTime() - 8 * HOUR > now + HOUR / 2) {
      return local.toISOString().slice(0, 19);
    }
  }
  return null;
}

/** FREQ=WEEKLY;BYDAY=… of the chosen days, in the week's order. */
export const rruleOf = (days) => `FREQ=WEEKLY;BYDAY=${BYDAY.filter((c) => days.has(c)).join(",")}`;
