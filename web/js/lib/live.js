// The one live connection of a tab: an EventSource on GET /api/generations/events (same
// origin, so the session cookie goes with it). EventSource retries by itself after a dropped
// connection, but an answer other than a 200 event stream (a 401, a 503, a proxy's 502) ends
// it for good: then a new one is made after a growing, jittered delay. Every open after the
// first may have missed events, so it is announced as a reconnect for the pages to refetch.
//
// Events (on the LiveUpdates object): generation (detail: GenerationItem), deleted (detail:
// {generation_id}), open (detail: {reconnected}), closed (the stream ended for good; a new one
// is scheduled).

export const EVENTS_URL = "/api/generations/events";

// Milliseconds before attempt `attempt` (0, 1, 2...): doubling from `base` up to `max`, each
// delay somewhere in its upper half so that many tabs do not come back in step.
export function backoffDelay(attempt, { base = 1000, max = 30000, random = Math.random } = {}) {
  const ceiling = Math.min(max, base * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(ceiling * (0.5 + random() / 2));
}

// A message's data as an object, or null when it is not what the contract promises.
export function parseEvent(type, data) {
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object") return null;
  if (type === "deleted") return typeof value.generation_id === "string" ? value : null;
  return typeof value.id === "string" && typeof value.status === "string" ? value : null;
}

export class LiveUpdates extends EventTarget {
  #url;
  #source = null;
  #timer = null;
  #attempt = 0;
  #opened = false;
  #running = false;

  constructor(url = EVENTS_URL) {
    super();
    this.#url = url;
  }

  // Whether the stream is open now (events from now on arrive).
  get connected() {
    return this.#source?.readyState === EventSource.OPEN;
  }

  get running() {
    return this.#running;
  }

  start() {
    if (this.#running) return;
    this.#running = true;
    this.#connect();
  }

  stop() {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#source?.close();
    this.#source = null;
    this.#opened = false;
    this.#attempt = 0;
  }

  #connect() {
    this.#timer = null;
    if (!this.#running) return;
    const source = new EventSource(this.#url);
    this.#source = source;
    source.addEventListener("open", () => {
      const reconnected = this.#opened;
      this.#opened = true;
      this.#attempt = 0;
      this.#dispatch("open", { reconnected });
    });
    for (const type of ["generation", "deleted"]) {
      source.addEventListener(type, (message) => {
        const detail = parseEvent(type, message.data);
        if (detail) this.#dispatch(type, detail);
      });
    }
    source.addEventListener("error", () => {
      if (source !== this.#source || source.readyState !== EventSource.CLOSED) return;
      source.close();
      this.#source = null;
      this.#dispatch("closed", {});
      if (this.#running) this.#timer = setTimeout(() => this.#connect(), backoffDelay(this.#attempt++));
    });
  }

  #dispatch(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
