// Storyboards for seek previews: a WebVTT file whose cues each name one tile of a JPEG sprite
// as `<url>#xywh=x,y,w,h`. Pure functions: text in, plain objects out.

const TIMESTAMP = /^(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})$/;

// "01:02.500" or "1:01:02.500" -> seconds; NaN for anything else.
export function parseTimestamp(text) {
  const match = TIMESTAMP.exec(String(text).trim());
  if (!match) return Number.NaN;
  const [, hours = "0", minutes, seconds, millis] = match;
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds) + Number(millis) / 1000;
}

// "sprite.jpg?v=3#xywh=160,0,160,90" (relative to `base`) -> {url, x, y, w, h}, or null.
export function parseTile(text, base) {
  const trimmed = String(text).trim();
  const hash = trimmed.indexOf("#");
  if (hash < 1) return null;
  const fragment = /^xywh=(?:pixel:)?(\d+),(\d+),(\d+),(\d+)$/.exec(trimmed.slice(hash + 1));
  if (!fragment) return null;
  const [x, y, w, h] = fragment.slice(1).map(Number);
  if (w === 0 || h === 0) return null;
  let url;
  try {
    url = new URL(trimmed.slice(0, hash), base);
  } catch {
    return null;
  }
  // Tiles come from the storyboard's own server: never another origin's image.
  if (url.origin !== new URL(base).origin) return null;
  return { url: `${url.pathname}${url.search}`, x, y, w, h };
}

// The WebVTT text -> [{start, end, url, x, y, w, h}] in time order; cues that do not parse
// (or name no tile) are left out, and a file that is not WebVTT gives [].
export function parseStoryboard(text, base) {
  const lines = String(text ?? "")
    .replace(/^\uFEFF/, "")
    .split(/\r\n|\r|\n/);
  if (!/^WEBVTT(?:[ \t].*)?$/.test(lines[0] ?? "")) return [];
  const cues = [];
  for (let index = 1; index < lines.length; index += 1) {
    const line = lines[index];
    if (!line.includes("-->")) continue;
    const [from, rest = ""] = line.split("-->");
    const start = parseTimestamp(from);
    const end = parseTimestamp(rest.trim().split(/[ \t]+/)[0]);
    const tile = parseTile(lines[index + 1] ?? "", base);
    if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start || !tile) continue;
    cues.push({ start, end, ...tile });
    index += 1;
  }
  return cues.sort((a, b) => a.start - b.start);
}

// The cue showing at `time` seconds (the last one at or past the end), or null.
export function cueAt(cues, time) {
  if (!cues.length || !Number.isFinite(time)) return null;
  let low = 0;
  let high = cues.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (cues[middle].start <= time) low = middle;
    else high = middle - 1;
  }
  return cues[low];
}

// At most `count` cues spread evenly over the video, first and last included: the filmstrip.
export function filmstrip(cues, count = 10) {
  if (cues.length <= count) return cues.slice();
  if (count <= 1) return cues.slice(0, count);
  const picks = [];
  for (let index = 0; index < count; index += 1) {
    picks.push(cues[Math.round((index * (cues.length - 1)) / (count - 1))]);
  }
  return picks;
}

// How to draw a cue's tile `height` pixels high (never enlarged): the box's size and the
// sprite's scale, for a box that clips the sprite moved by -x, -y.
export function tileBox(cue, height) {
  const scale = Math.min(1, height / cue.h);
  return { width: Math.round(cue.w * scale), height: Math.round(cue.h * scale), scale };
}
