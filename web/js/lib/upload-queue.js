// The tab's imports: a queue that lives as long as the page (main.js owns it, not a page), so
// moving around the app never stops an upload. At most UPLOADS_AT_ONCE run at once; a 429
// (another tab took the slots) puts the file back in line until the server's Retry-After.
//
// Entries are plain objects, replaced (never changed) on every update: {id, name, size, prompt,
// state: "queued" | "uploading" | "processing" | "done" | "failed" | "cancelled", progress
// (0-100), message (why it failed or waits), item (the GenerationItem once done)}.
//
// Events (on the UploadQueue): change (the entries changed), imported (detail {entry}), failed
// (detail {entry}), cancelled (detail {entry}), unauthorized (the session has ended).

import * as api from "./api.js";
import { UPLOADS_AT_ONCE, retryDelay, uploadErrorMessage, uploadsToStart } from "./uploads.js";

const ACTIVE = new Set(["queued", "uploading", "processing"]);

export class UploadQueue extends EventTarget {
  #entries = [];
  #files = new Map(); // id -> File
  #uploads = new Map(); // id -> AbortController of its running request
  #timer = null;
  #counter = 0;
  #send;
  #limit;

  constructor({ send = api.importGeneration, limit = UPLOADS_AT_ONCE } = {}) {
    super();
    this.#send = send;
    this.#limit = limit;
  }

  get entries() {
    return this.#entries;
  }

  // Whether anything is still on its way (the page warns before it is closed).
  get busy() {
    return this.#entries.some((entry) => ACTIVE.has(entry.state));
  }

  // files: [{file, prompt}], each already checked (see uploads.js).
  add(files) {
    for (const { file, prompt } of files) {
      const id = `upload-${++this.#counter}`;
      this.#files.set(id, file);
      this.#entries = [
        ...this.#entries,
        { id, name: file.name, size: file.size, prompt, state: "queued", progress: 0, message: "", item: null },
      ];
    }
    this.#changed();
    this.#pump();
  }

  cancel(id) {
    const entry = this.#find(id);
    if (!entry || !ACTIVE.has(entry.state)) return;
    const upload = this.#uploads.get(id);
    if (upload) {
      upload.abort(); // the request's rejection records it
      return;
    }
    this.#finish(id, { state: "cancelled", message: "" }, "cancelled");
  }

  // Everything still on its way, cancelled (the person signed out: nothing of theirs goes on).
  cancelAll() {
    for (const entry of this.#entries) this.cancel(entry.id);
  }

  // Forget a finished entry (its row leaves the list).
  dismiss(id) {
    const entry = this.#find(id);
    if (!entry || ACTIVE.has(entry.state)) return;
    this.#entries = this.#entries.filter((each) => each.id !== id);
    this.#changed();
  }

  clearFinished() {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((entry) => ACTIVE.has(entry.state));
    if (this.#entries.length !== before) this.#changed();
  }

  #find(id) {
    return this.#entries.find((entry) => entry.id === id);
  }

  #set(id, fields) {
    let updated = null;
    this.#entries = this.#entries.map((entry) => {
      if (entry.id !== id) return entry;
      updated = { ...entry, ...fields };
      return updated;
    });
    if (updated) this.#changed();
    return updated;
  }

  #finish(id, fields, event) {
    this.#files.delete(id);
    this.#uploads.delete(id);
    const entry = this.#set(id, fields);
    if (entry && event) this.dispatchEvent(new CustomEvent(event, { detail: { entry } }));
    this.#pump();
  }

  #changed() {
    this.dispatchEvent(new Event("change"));
  }

  #pump() {
    clearTimeout(this.#timer);
    this.#timer = null;
    for (const entry of uploadsToStart(this.#entries, { limit: this.#limit })) this.#start(entry);
    // Someone waits out a 429: come back when the earliest wait ends.
    const waits = this.#entries.filter((entry) => entry.state === "queued" && entry.notBefore);
    if (waits.length && !this.#timer) {
      const soonest = Math.min(...waits.map((entry) => entry.notBefore));
      this.#timer = setTimeout(() => this.#pump(), Math.max(0, soonest - Date.now()) + 50);
    }
  }

  async #start(entry) {
    const { id } = entry;
    const file = this.#files.get(id);
    const upload = new AbortController();
    this.#uploads.set(id, upload);
    this.#set(id, { state: "uploading", progress: 0, message: "", notBefore: 0 });
    try {
      const item = await this.#send(
        { prompt: entry.prompt, file },
        {
          signal: upload.signal,
          onProgress: (percent) => {
            const current = this.#find(id);
            if (!current || current.state !== "uploading" || percent <= current.progress) return;
            // Every byte sent: the server now reads the video before it answers.
            this.#set(id, percent >= 100 ? { progress: 100, state: "processing" } : { progress: percent });
          },
        },
      );
      this.#finish(id, { state: "done", progress: 100, item, message: "" }, "imported");
    } catch (error) {
      if (api.isAbort(error)) {
        this.#finish(id, { state: "cancelled", message: "" }, "cancelled");
      } else if (error?.status === 429) {
        // Back in line at its place; the server has no slot free, so nothing else in line
        // asks before its Retry-After either.
        this.#uploads.delete(id);
        const notBefore = Date.now() + retryDelay(error);
        this.#entries = this.#entries.map((each) =>
          each.state === "queued" ? { ...each, notBefore: Math.max(each.notBefore ?? 0, notBefore) } : each,
        );
        this.#set(id, {
          state: "queued",
          progress: 0,
          notBefore,
          message: "Waiting: other uploads of yours are still in progress.",
        });
        this.#pump();
      } else {
        this.#finish(id, { state: "failed", message: uploadErrorMessage(error) }, "failed");
        if (error?.status === 401) this.dispatchEvent(new Event("unauthorized"));
      }
    }
  }
}
