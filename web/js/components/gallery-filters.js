// <gallery-filters>: the status filter, the prompt search and the order of the gallery. The
// search waits for 300 ms of quiet before it speaks; changing the status or the order speaks
// at once (and takes any pending search text with it).
//
// Properties: status ("" for all), q (search text), sort ("newest" | "oldest"). Setting them
// updates the fields in place, without disturbing what the person is typing.
// Events: filter (detail {status, q, sort, source: "status" | "search" | "sort"}).

import { debounce } from "../lib/debounce.js";
import { emit } from "../lib/events.js";
import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

export const SEARCH_DELAY_MS = 300;

const OPTIONS = [
  ["", "All"],
  ["completed", "Completed"],
  ["processing", "Processing"],
  ["pending", "Pending"],
  ["failed", "Failed"],
];

const SORT_OPTIONS = [
  ["newest", "Newest first"],
  ["oldest", "Oldest first"],
];

const styles = css`
  :host { display: block; }
  form {
    display: flex; flex-wrap: wrap; align-items: end; gap: var(--space-3) var(--space-4);
  }
  .field { display: grid; gap: var(--space-1); }
  .search { flex: 1 1 16rem; }
  .search input { width: 100%; }
  label { font-size: var(--text-sm); }
  select { min-width: 10rem; }
`;

class GalleryFilters extends HTMLElement {
  #status = "";
  #q = "";
  #sort = "newest";
  #connection = null;
  #search = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  get status() {
    return this.#status;
  }

  set status(value) {
    this.#status = value ?? "";
    const select = this.shadowRoot.getElementById("status");
    if (select && select.value !== this.#status) select.value = this.#status;
  }

  get sort() {
    return this.#sort;
  }

  set sort(value) {
    this.#sort = value === "oldest" ? "oldest" : "newest";
    const select = this.shadowRoot.getElementById("sort");
    if (select && select.value !== this.#sort) select.value = this.#sort;
  }

  get q() {
    return this.#q;
  }

  set q(value) {
    this.#q = value ?? "";
    const input = this.shadowRoot.getElementById("q");
    // Only overwrite the box when it says something else, so typing is never interrupted.
    if (input && input.value.trim() !== this.#q) {
      this.#search?.cancel();
      input.value = this.#q;
    }
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<form role="search" aria-label="Filter videos">
          <div class="field">
            <label for="status">Status</label>
            <select id="status" name="status">
              ${OPTIONS.map(([value, label]) => html`<option value="${value}">${label}</option>`)}
            </select>
          </div>
          <div class="field">
            <label for="sort">Sort</label>
            <select id="sort" name="sort">
              ${SORT_OPTIONS.map(([value, label]) => html`<option value="${value}">${label}</option>`)}
            </select>
          </div>
          <div class="field search">
            <label for="q">Search prompts</label>
            <input id="q" name="q" type="search" maxlength="500" autocomplete="off" spellcheck="false"
              placeholder="e.g. sneaker, coffee, sunrise">
          </div>
        </form>`,
      );
    }
    this.status = this.#status;
    this.q = this.#q;
    this.sort = this.#sort;
    this.#connection = new AbortController();
    const { signal } = this.#connection;
    const root = this.shadowRoot;
    this.#search = debounce(() => this.#emit("search"), SEARCH_DELAY_MS);
    root.getElementById("q").addEventListener("input", () => this.#search(), { signal });
    root.getElementById("status").addEventListener(
      "change",
      () => {
        this.#search.cancel();
        this.#emit("status");
      },
      { signal },
    );
    root.getElementById("sort").addEventListener(
      "change",
      () => {
        this.#search.cancel();
        this.#emit("sort");
      },
      { signal },
    );
    root.querySelector("form").addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        this.#search.flush();
      },
      { signal },
    );
  }

  disconnectedCallback() {
    this.#search?.cancel();
    this.#connection?.abort();
  }

  #emit(source) {
    const root = this.shadowRoot;
    this.#status = root.getElementById("status").value;
    this.#q = root.getElementById("q").value.trim();
    this.#sort = root.getElementById("sort").value;
    emit(this, "filter", { status: this.#status, q: this.#q, sort: this.#sort, source });
  }
}

customElements.define("gallery-filters", GalleryFilters);
