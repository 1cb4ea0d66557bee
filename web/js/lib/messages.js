// API failures in words a person understands. Pure functions of an ApiError-like object
// ({status, detail, extra}), so they can be tested alone.

// Every message ends as a sentence does: a full stop unless it already has its own ending.
export function sentence(text) {
  const words = String(text ?? "").trim();
  if (!words) return words;
  return /[.!?…]["')\]]?$/.test(words) ? words : `${words}.`;
}

const UNREACHABLE_TEXT = "The server could not be reached. Check your connection and try again.";

function serverTrouble(error) {
  return `Something went wrong on the server (error ${error.status}). Try again in a moment.`;
}

export function loadErrorMessage(error, what = "your videos") {
  if (!error || error.status === undefined) return `${capitalise(what)} could not be loaded.`;
  if (error.status === 0) return `${capitalise(what)} could not be loaded. ${UNREACHABLE_TEXT}`;
  if (error.status >= 500) return `${capitalise(what)} could not be loaded. ${serverTrouble(error)}`;
  return sentence(`${capitalise(what)} could not be loaded: ${error.detail}`);
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function lengthRule(message) {
  const atLeast = /length >= (\d+)/.exec(message);
  if (atLeast) return `Use at least ${atLeast[1]} characters.`;
  const atMost = /length <= (\d+)/.exec(message);
  if (atMost) return `Use at most ${atMost[1]} characters.`;
  return null;
}

const FIELD_WORDS = {
  email: (message) =>
    lengthRule(message)?.replace("characters", "characters in the e-mail address") ??
    "Enter an e-mail address like name@example.com.",
  password: (message) => lengthRule(message) ?? "Enter a valid password.",
};

// Sign-in and registration: {email, password, form}, each a sentence or absent.
export function credentialErrors(error) {
  if (!error || error.status === undefined) return { form: "Something went wrong. Try again." };
  if (error.status === 0) return { form: UNREACHABLE_TEXT };
  if (error.status === 409) return { email: sentence(error.detail) };
  if (error.status === 401) return { form: sentence(error.detail) };
  if (error.status === 422) {
    const errors = {};
    for (const problem of Array.isArray(error.extra) ? error.extra : []) {
      const words = FIELD_WORDS[problem?.key];
      if (words && !errors[problem.key]) errors[problem.key] = words(String(problem.message ?? ""));
    }
    return Object.keys(errors).length ? errors : { form: sentence(error.detail) };
  }
  if (error.status >= 500) return { form: serverTrouble(error) };
  return { form: sentence(error.detail) };
}

// The import form: {prompt, file, form}.
export function importErrors(error) {
  if (!error || error.status === undefined) return { form: "The video could not be imported. Try again." };
  switch (error.status) {
    case 0:
      return { form: `The upload did not reach the server. ${UNREACHABLE_TEXT}` };
    case 413:
      return { file: "This file is too large to import. Choose a smaller video file." };
    case 415:
      return {
        file: "This file is not a video that can be played. Choose an MP4, MOV, WebM or MKV video.",
      };
    case 422:
      if (/file/i.test(error.detail)) return { file: "Choose a video file to import." };
      if (/prompt/i.test(error.detail) && /at most/i.test(error.detail)) {
        return { prompt: "The prompt is too long. Keep it to 2,000 characters or fewer." };
      }
      if (/prompt/i.test(error.detail)) {
        return { prompt: "Write the prompt the video was generated from." };
      }
      return { form: sentence(`The video could not be imported: ${error.detail}`) };
    default:
      if (error.status >= 500) return { form: `The video could not be imported. ${serverTrouble(error)}` };
      return { form: sentence(`The video could not be imported: ${error.detail}`) };
  }
}

const REQUEST_FIELDS = ["prompt", "duration", "aspect_ratio"];

function requestFieldWords(key, message) {
  if (key === "prompt") {
    if (/length <=|at most/.test(message)) return "The prompt is too long. Keep it to 2,000 characters or fewer.";
    if (/NUL/.test(message)) return "The prompt cannot contain NUL characters.";
    return "Write a prompt: what should the video show?";
  }
  if (key === "duration") return "Choose a whole number of seconds from 1 to 60.";
  return "Choose 9:16, 16:9 or 1:1.";
}

// The "New generation" dialog: {prompt, duration, aspect_ratio, form}.
export function generationRequestErrors(error) {
  if (!error || error.status === undefined) return { form: "The generation could not be requested. Try again." };
  if (error.status === 0) return { form: `The request did not reach the server. ${UNREACHABLE_TEXT}` };
  if (error.status === 422) {
    const errors = {};
    for (const problem of Array.isArray(error.extra) ? error.extra : []) {
      const key = String(problem?.key ?? "");
      if (REQUEST_FIELDS.includes(key) && !errors[key]) {
        errors[key] = requestFieldWords(key, String(problem.message ?? ""));
      }
    }
    if (Object.keys(errors).length) return errors;
    if (/prompt/i.test(error.detail)) return { prompt: requestFieldWords("prompt", error.detail) };
    return { form: sentence(`The generation could not be requested: ${error.detail}`) };
  }
  if (error.status >= 500) return { form: `The generation could not be requested. ${serverTrouble(error)}` };
  return { form: sentence(`The generation could not be requested: ${error.detail}`) };
}

export function deleteErrorMessage(error) {
  if (!error || error.status === undefined) return "The video could not be deleted. Try again.";
  if (error.status === 0) return `The video could not be deleted. ${UNREACHABLE_TEXT}`;
  if (error.status === 403) return "You are not allowed to delete this video.";
  if (error.status >= 500) {
    return `The video could not be deleted; nothing was changed. ${serverTrouble(error)}`;
  }
  return sentence(`The video could not be deleted: ${error.detail}`);
}
