// The one door to the HTTP API. Same-origin requests carry the HttpOnly session cookie, so no
// token ever lives in JavaScript. Every failure becomes an ApiError mirroring the API's error
// body ({status_code, detail, extra}); status 0 means the server could not be reached.

import { listingParams } from "./query.js";

export const UNREACHABLE = 0;

export class ApiError extends Error {
  constructor(status, detail, extra = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.extra = extra;
  }
}

export function isAbort(error) {
  return error?.name === "AbortError";
}

function unreachable() {
  return new ApiError(UNREACHABLE, "The server could not be reached.");
}

function failure(status, body, statusText) {
  const detail = typeof body?.detail === "string" ? body.detail : statusText || `HTTP ${status}`;
  return new ApiError(status, detail, body?.extra ?? null);
}

async function request(method, path, { json, params, signal } = {}) {
  const url = params ? `${path}?${params}` : path;
  const headers = { Accept: "application/json" };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  let response;
  let body = null;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
    if (response.status !== 204) {
      const text = await response.text();
      body = text ? JSON.parse(text) : null;
    }
  } catch (error) {
    if (isAbort(error)) throw error;
    if (response && error instanceof SyntaxError) throw failure(response.status, null, response.statusText);
    throw unreachable();
  }
  if (!response.ok) throw failure(response.status, body, response.statusText);
  return body;
}

export function me({ signal } = {}) {
  return request("GET", "/api/auth/me", { signal });
}

export function login(email, password, { signal } = {}) {
  return request("POST", "/api/auth/login", { json: { email, password }, signal });
}

export function register(email, password, { signal } = {}) {
  return request("POST", "/api/auth/register", { json: { email, password }, signal });
}

export function logout({ signal } = {}) {
  return request("POST", "/api/auth/logout", { signal });
}

export function listGenerations(filters, { cursor = null, limit, signal } = {}) {
  return request("GET", "/api/generations", { params: listingParams(filters, { cursor, limit }), signal });
}

export function getGeneration(id, { signal } = {}) {
  return request("GET", `/api/generations/${encodeURIComponent(id)}`, { signal });
}

// A generation for a worker to make: {prompt, duration, aspect_ratio}; 201 with it pending.
export function requestGeneration(wanted, { signal } = {}) {
  return request("POST", "/api/generations", { json: wanted, signal });
}

export function deleteGeneration(id, { signal } = {}) {
  return request("DELETE", `/api/generations/${encodeURIComponent(id)}`, { signal });
}

// A storyboard's WebVTT text (the item's storyboard_url, as given).
export async function getStoryboard(url, { signal } = {}) {
  let response;
  let text;
  try {
    response = await fetch(url, { headers: { Accept: "text/vtt" }, credentials: "same-origin", signal });
    text = await response.text();
  } catch (error) {
    if (isAbort(error)) throw error;
    throw unreachable();
  }
  if (!response.ok) throw failure(response.status, null, response.statusText);
  return text;
}

// The import uses XMLHttpRequest for this one call: fetch() cannot report upload progress.
// `onProgress` receives whole percentages of the request body sent.
export function importGeneration({ prompt, file }, { signal, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException("The import was cancelled.", "AbortError"));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/generations");
    xhr.responseType = "text";
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) {
        onProgress?.(Math.min(100, Math.floor((event.loaded / event.total) * 100)));
      }
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status === 201) {
        resolve(body);
        return;
      }
      const error = failure(xhr.status, body, xhr.statusText);
      // A 429 says when a slot may be free again; the upload queue waits that long.
      if (xhr.status === 429) error.retryAfter = Number(xhr.getResponseHeader("Retry-After")) || null;
      reject(error);
    });
    xhr.addEventListener("error", () => reject(unreachable()));
    xhr.addEventListener("abort", () => reject(new DOMException("The import was cancelled.", "AbortError")));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    const form = new FormData();
    form.append("prompt", prompt);
    form.append("file", file);
    xhr.send(form);
  });
}
