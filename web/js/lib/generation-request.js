// A generation request as the contract wants it (API.md, "Generation lifecycle"): the form's
// rules, and what a screen reader hears when one finishes. Pure functions.

import { sentence } from "./messages.js";

export const PROMPT_MAX = 2000;
export const DURATION_MIN = 1;
export const DURATION_MAX = 60;
export const DURATION_DEFAULT = 15;
export const ASPECT_RATIOS = ["9:16", "16:9", "1:1"];
export const ASPECT_DEFAULT = "9:16";

// The server strips the prompt and counts characters (code points), not UTF-16 units.
export function promptLength(prompt) {
  return [...String(prompt ?? "").trim()].length;
}

// Form values (strings) -> {request, errors}: request is the JSON body when errors is empty.
export function validateGenerationRequest({ prompt = "", duration = "", aspectRatio = "" } = {}) {
  const errors = {};
  const text = String(prompt).trim();
  const length = promptLength(text);
  if (length === 0) errors.prompt = "Write a prompt: what should the video show?";
  else if (length > PROMPT_MAX) {
    errors.prompt = `The prompt is ${length.toLocaleString("en-US")} characters long; keep it to 2,000 or fewer.`;
  } else if (text.includes("\u0000")) errors.prompt = "The prompt cannot contain NUL characters.";

  const raw = String(duration).trim();
  const seconds = Number(raw);
  if (raw === "" || !/^\d+$/.test(raw) || seconds < DURATION_MIN || seconds > DURATION_MAX) {
    errors.duration = `Choose a whole number of seconds from ${DURATION_MIN} to ${DURATION_MAX}.`;
  }
  if (!ASPECT_RATIOS.includes(aspectRatio)) errors.aspect_ratio = "Choose 9:16, 16:9 or 1:1.";

  if (Object.keys(errors).length) return { request: null, errors };
  return { request: { prompt: text, duration: seconds, aspect_ratio: aspectRatio }, errors };
}

// A prompt short enough to be heard: whole words up to `max` characters, then an ellipsis.
export function clipPrompt(prompt, max = 60) {
  const text = String(prompt ?? "").trim().replace(/\s+/g, " ");
  const chars = [...text];
  if (chars.length <= max) return text;
  const cut = chars.slice(0, max).join("");
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function inFlight(status) {
  return status === "pending" || status === "processing";
}

// What to announce when an event brings `item`, whose status this page last knew as
// `previous` (undefined: never seen). Only requested generations finishing are news: an
// import is completed from the start, and a repeat of a known end says nothing new.
export function announcement(previous, item) {
  if (!item || previous === item.status) return null;
  if (previous !== undefined && !inFlight(previous)) return null;
  const requested = item.aspect_ratio != null || item.attempts > 0;
  if (!requested && previous === undefined) return null;
  const name = clipPrompt(item.prompt);
  if (item.status === "completed") return `${name} is ready.`;
  if (item.status === "failed") return sentence(`${name} failed: ${item.error || "the generation failed"}`);
  return null;
}
