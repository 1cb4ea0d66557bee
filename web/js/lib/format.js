// How numbers and dates read, in the person's locale (`locale` undefined means the browser's).

const DASH = "—";

export function formatCost(cost, locale) {
  if (cost === null || cost === undefined || !Number.isFinite(cost)) return DASH;
  return new Intl.NumberFormat(locale, { style: "currency", currency: "USD" }).format(cost);
}

export function formatDate(iso, locale, timeZone) {
  if (!iso) return DASH;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return DASH;
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone }).format(date);
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return DASH;
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

function plural(count, unit) {
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

// A duration as a screen reader should say it: "4 seconds", "1 minute 5 seconds".
export function spokenDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "unknown";
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  const parts = [];
  if (hours) parts.push(plural(hours, "hour"));
  if (minutes) parts.push(plural(minutes, "minute"));
  if (rest || !parts.length) parts.push(plural(rest, "second"));
  return parts.join(" ");
}

// A prompt short enough for a tab's title: whole words, an ellipsis when cut.
export function clip(text, max = 60) {
  const flat = String(text ?? "").replace(/\s+/g, " ").trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,.;:!?-]+$/, "")}…`;
}

// The shape of a video's frame, [width, height]: its pixels once known, the requested aspect
// ratio before that, 16:9 when neither is known.
export function frameRatio(item) {
  if (Number.isInteger(item?.width) && Number.isInteger(item?.height) && item.width > 0 && item.height > 0) {
    return [item.width, item.height];
  }
  const asked = /^(\d{1,3}):(\d{1,3})$/.exec(item?.aspect_ratio ?? "");
  if (asked && Number(asked[1]) > 0 && Number(asked[2]) > 0) return [Number(asked[1]), Number(asked[2])];
  return [16, 9];
}

const BYTE_UNITS = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte"];

export function formatBytes(bytes, locale) {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return DASH;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(locale, {
    style: "unit",
    unit: BYTE_UNITS[unit],
    unitDisplay: unit === 0 ? "long" : "short",
    maximumFractionDigits: unit === 0 ? 0 : 1,
  }).format(value);
}

function gcd(a, b) {
  return b ? gcd(b, a % b) : a;
}

export function aspectRatio(width, height) {
  if (!width || !height) return null;
  const divisor = gcd(width, height);
  return `${width / divisor}:${height / divisor}`;
}

export function formatDimensions(width, height) {
  if (!width || !height) return DASH;
  const ratio = aspectRatio(width, height);
  return `${width} × ${height} (${ratio})`;
}
