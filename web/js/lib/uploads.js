// The rules of an import, checked before any byte is sent, and its refusals in words: pure
// functions of plain values, so they can be tested alone.

// Imports one account may have in flight at once (the server's default cap): the others wait
// in the queue instead of meeting a 429.
export const UPLOADS_AT_ONCE = 2;
export const MAX_PROMPT_CHARACTERS = 2000;
export const ACCEPTED_TYPES = "video/mp4,video/quicktime,video/webm,video/x-matroska,.mp4,.m4v,.mov,.webm,.mkv";
const VIDEO_EXTENSIONS = [".mp4", ".m4v", ".mov", ".webm", ".mkv"];
const UNREACHABLE_TEXT = "Check your connection and try again.";

// "sneaker_launch-v2.final.mp4" -> "sneaker launch v2 final": a starting point the person edits.
export function promptFromFileName(name) {
  const stem = String(name ?? "").replace(/\.[a-z0-9]{1,5}$/i, "");
  const words = stem.replace(/[_\-.+]+/g, " ").replace(/\s+/g, " ").trim();
  return Array.from(words).slice(0, MAX_PROMPT_CHARACTERS).join("");
}

// The sentence for a prompt the server would refuse, or null.
export function promptProblem(prompt) {
  const text = String(prompt ?? "").trim();
  if (!text) return "Write the prompt the video was generated from.";
  if (text.includes("\u0000")) return "The prompt cannot contain NUL characters.";
  if (Array.from(text).length > MAX_PROMPT_CHARACTERS) {
    return "The prompt is too long. Keep it to 2,000 characters or fewer.";
  }
  return null;
}

// The sentence for a file that is plainly no video (by its type or name), or null. The server
// still reads every file; this only spares a person the upload of a PDF.
export function fileProblem({ name = "", type = "", size = 0 } = {}) {
  if (size === 0) return "This file is empty. Choose a video file.";
  const lower = String(name).toLowerCase();
  if (String(type).startsWith("video/") || VIDEO_EXTENSIONS.some((ext) => lower.endsWith(ext))) return null;
  return "This is not a video file. Choose an MP4, MOV, WebM or MKV video.";
}

function sentence(text) {
  const trimmed = String(text ?? "").trim();
  if (!trimmed) return "";
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

// Why an upload failed, for the line under its file: the server's own sentence where it says
// what is wrong with this file (413, 415), plain words otherwise.
export function uploadErrorMessage(error) {
  const status = error?.status;
  if (status === undefined) return "The video could not be imported. Try again.";
  if (status === 0) return `The upload did not reach the server. ${UNREACHABLE_TEXT}`;
  if (status === 413) return sentence(error.detail) || "This file is too large to import.";
  if (status === 415) return sentence(error.detail) || "This file is not a video that can be played.";
  if (status === 408) return "The upload stalled and was stopped. Try again.";
  if (status === 401) return "Your session has ended. Sign in again, then import the file again.";
  if (status === 422) {
    if (/prompt/i.test(error.detail ?? "")) return "The server refused the prompt. Edit it, then import the file again.";
    return `The video could not be imported: ${sentence(error.detail)}`;
  }
  if (status >= 500) return `Something went wrong on the server (error ${status}). Try again in a moment.`;
  return `The video could not be imported: ${sentence(error.detail)}`;
}

// How long to wait after a 429 before trying again, in milliseconds: the server's Retry-After
// (seconds), within reason.
export function retryDelay(error) {
  const seconds = Number(error?.retryAfter);
  const wait = Number.isFinite(seconds) && seconds > 0 ? seconds : 5;
  return Math.min(60, Math.max(1, wait)) * 1000;
}

// The queued entries to start now: oldest first, while fewer than `limit` are uploading, and
// none whose wait after a 429 has not run out.
export function uploadsToStart(entries, { limit = UPLOADS_AT_ONCE, now = Date.now() } = {}) {
  const running = entries.filter((entry) => entry.state === "uploading").length;
  const free = Math.max(0, limit - running);
  return entries.filter((entry) => entry.state === "queued" && (entry.notBefore ?? 0) <= now).slice(0, free);
}
