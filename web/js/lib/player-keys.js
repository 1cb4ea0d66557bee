// The player's keyboard shortcuts, as on the big video sites: pure functions of the key event
// and of what has focus, so that typing in a field or pressing a button never plays a video.

export const SHORTCUTS = [
  { keys: ["k", "Space"], does: "Play or pause" },
  { keys: ["j"], does: "Back 10 seconds" },
  { keys: ["l"], does: "Forward 10 seconds" },
  { keys: ["←"], does: "Back 5 seconds" },
  { keys: ["→"], does: "Forward 5 seconds" },
  { keys: ["f"], does: "Full screen on or off" },
  { keys: ["m"], does: "Sound off or on" },
  { keys: ["?"], does: "Show these shortcuts" },
];

const ACTIONS = {
  k: { type: "toggle" },
  " ": { type: "toggle" },
  j: { type: "seek", by: -10 },
  l: { type: "seek", by: 10 },
  arrowleft: { type: "seek", by: -5 },
  arrowright: { type: "seek", by: 5 },
  f: { type: "fullscreen" },
  m: { type: "mute" },
};

// {type: "toggle" | "seek" (with `by` seconds) | "fullscreen" | "mute" | "help"} or null.
// Shift is a modifier too, except for "?", which most layouts type with it.
export function keyAction({ key, ctrlKey = false, metaKey = false, altKey = false, shiftKey = false }) {
  if (ctrlKey || metaKey || altKey || typeof key !== "string") return null;
  if (key === "?") return { type: "help" };
  if (shiftKey) return null;
  return ACTIONS[key.toLowerCase()] ?? null;
}

const NOT_TYPED = new Set(["button", "submit", "reset", "checkbox", "radio", "image", "file", "color"]);
const PRESSED_BY_SPACE = new Set(["button", "a", "summary", "select"]);

// Whether `target` ({localName, type, isContentEditable, role}) takes the key itself: a field
// being typed in takes every key; a button, link or checkbox takes the space bar.
export function targetTakesKey(target, key) {
  if (!target) return false;
  const name = String(target.localName ?? "").toLowerCase();
  if (target.isContentEditable || name === "textarea" || name === "select") return true;
  if (name === "input") return key === " " || !NOT_TYPED.has(String(target.type ?? "text").toLowerCase());
  if (key !== " ") return false;
  return PRESSED_BY_SPACE.has(name) || target.role === "button";
}
