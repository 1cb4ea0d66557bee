// <gallery-page>: the person's videos. A responsive grid of cards, newest first; the status
// filter and the search live in the URL (?status=&q=) and survive Load More, back, forward and
// reload; Load More follows the listing's keyset cursor, so videos added or deleted meanwhile
// never make a card repeat or go missing; skeletons while loading, "No videos found" when
// nothing matches, an error with Retry when the API fails; cards of pending and processing
// videos refresh themselves; a panel to import a video.
//
// Properties: search (the URL's query string; main.js sets it on every navigation).
// Events: navigate (detail {url, replace}), announce (detail {message, tone}),
// require-sign-in (the session has ended).

import * as api from "../lib/api.js";
import { emit } from "../lib/events.js";
import { css, html, render } from "../lib/html.js";
import { importErrors, loadErrorMessage } from "../lib/messages.js";
import { PAGE_SIZE, gallerySearch, readGalleryQuery, sameQuery } from "../lib/query.js";
import { base } from "../lib/styles.js";
import "../components/error-panel.js";
import "../components/gallery-filters.js";
import "../components/import-form.js";
import "../components/skeleton-card.js";
import "../components/video-card.js";

export const REFRESH_MS = 3000;
const SKELETONS = 8;

const styles = css`
  :host { display: block; }
  .top {
    display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between;
    gap: var(--space-3);
    margin: var(--space-2) 0 var(--space-4);
  }
  h1 { font-size: var(--text-2xl); line-height: var(--leading-tight); }
  .import {
    margin-bottom: var(--space-5);
    padding: var(--space-5);
    border: 1px solid var(--color-border);
    border-radius: var(--radius-lg);
    background: var(--color-surface);
  }
  .import h2 { font-size: var(--text-lg); margin-bottom: var(--space-3); }
  gallery-filters { margin-bottom: var(--space-3); }
  .summary { min-height: 1.5em; margin-bottom: var(--space-3); color: var(--color-text-muted); font-size: var(--text-sm); }
  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(min(100%, var(--card-min)), 1fr));
    gap: var(--space-4);
    margin: 0; padding: 0;
    list-style: none;
  }
  .grid > li { min-width: 0; }
  .grid > li > * { height: 100%; }
  .empty {
    padding: var(--space-7) var(--space-4);
    border: 1px dashed var(--color-border-strong);
    border-radius: var(--radius-lg);
    text-align: center;
  }
  .empty h2 { font-size: var(--text-xl); margin-bottom: var(--space-2); }
  .empty p { color: var(--color-text-muted); }
  error-panel { margin-top: var(--space-4); }
  .more { display: flex; justify-content: center; margin-top: var(--space-5); }
`;

function inFlight(item) {
  return item.status === "pending" || item.status === "processing";
}

class GalleryPage extends HTMLElement {
  #search = "";
  #query = readGalleryQuery("");
  #loadedQuery = null;
  #items = new Map();
  #total = 0;
  #nextCursor = null; // the listing's next_cursor: null once the last page is shown
  #retry = null;
  #load = null;
  #refreshTimer = null;
  #upload = null;
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  get search() {
    return this.#search;
  }

  set search(value) {
    this.#search = value ?? "";
    this.#query = readGalleryQuery(this.#search);
    if (!this.#connection) return;
    this.#showFilters();
    if (!this.#loadedQuery || !sameQuery(this.#loadedQuery, this.#query)) this.#loadFirstPage();
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<div class="top">
            <h1 id="title">Your videos</h1>
            <button type="button" class="button primary" id="import-toggle" aria-expanded="false"
              aria-controls="import-panel">Import video</button>
          </div>
          <section class="import" id="import-panel" aria-labelledby="import-title" hidden>
            <h2 id="import-title">Import a video</h2>
            <import-form></import-form>
          </section>
          <gallery-filters></gallery-filters>
          <p class="summary" role="status" aria-live="polite"></p>
          <ul class="grid" id="grid" aria-labelledby="title"></ul>
          <div class="empty" hidden>
            <h2>No videos found</h2>
            <p class="empty-hint"></p>
          </div>
          <error-panel hidden></error-panel>
          <div class="more"><button type="button" class="button" id="more" hidden>Load more</button></div>`,
      );
    }
    this.#connection = new AbortController();
    const { signal } = this.#connection;
    const root = this.shadowRoot;
    const filters = root.querySelector("gallery-filters");
    filters.addEventListener("filter", (event) => this.#filter(event), { signal });
    root.getElementById("more").addEventListener("click", () => this.#loadMore(), { signal });
    root.querySelector("error-panel").addEventListener(
      "retry",
      (event) => {
        event.stopPropagation();
        this.#retry?.();
      },
      { signal },
    );
    const toggle = root.getElementById("import-toggle");
    toggle.addEventListener("click", () => this.#toggleImport(), { signal });
    const importForm = root.querySelector("import-form");
    importForm.addEventListener("import-video", (event) => this.#import(event), { signal });
    importForm.addEventListener("cancel-import", () => this.#upload?.abort(), { signal });
    document.addEventListener("visibilitychange", () => this.#scheduleRefresh(), { signal });
    this.#showFilters();
    this.#loadFirstPage();
  }

  disconnectedCallback() {
    this.#connection?.abort();
    this.#connection = null;
    this.#load?.abort();
    this.#upload?.abort();
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    this.#loadedQuery = null;
  }

  #showFilters() {
    const filters = this.shadowRoot.querySelector("gallery-filters");
    filters.status = this.#query.status;
    filters.q = this.#query.q;
  }

  #filter(event) {
    event.stopPropagation();
    const { status, q, source } = event.detail;
    // Typing refines the current entry; choosing a status is a step worth going back to.
    const url = `/gallery${gallerySearch({ status, q })}`;
    emit(this, "navigate", { url, replace: source === "search" });
  }

  #startLoad() {
    this.#load?.abort();
    this.#load = new AbortController();
    return this.#load.signal;
  }

  async #loadFirstPage() {
    const query = this.#query;
    const signal = this.#startLoad();
    this.#loadedQuery = query;
    this.#retry = () => this.#loadFirstPage();
    this.#showSkeletons();
    try {
      const page = await api.listGenerations(query, { limit: PAGE_SIZE, signal });
      this.#append(page);
    } catch (error) {
      this.#failed(error, "your videos");
    }
  }

  async #loadMore() {
    const signal = this.#startLoad();
    const more = this.shadowRoot.getElementById("more");
    more.disabled = true;
    more.textContent = "Loading…";
    this.#retry = () => this.#loadMore();
    this.shadowRoot.querySelector("error-panel").hidden = true;
    try {
      // The cursor belongs to the filters it was made for (the API refuses any other).
      const page = await api.listGenerations(this.#loadedQuery, {
        cursor: this.#nextCursor,
        limit: PAGE_SIZE,
        signal,
      });
      const firstNew = this.#append(page);
      // The button may be gone now; keep keyboard focus in the list rather than lose it.
      if (more.hidden && firstNew) firstNew.shadowRoot.querySelector("a")?.focus();
    } catch (error) {
      this.#failed(error, "more videos");
    } finally {
      more.disabled = false;
      more.textContent = "Load more";
    }
  }

  #showSkeletons() {
    const root = this.shadowRoot;
    this.#items.clear();
    this.#nextCursor = null;
    const grid = root.getElementById("grid");
    grid.setAttribute("aria-busy", "true");
    grid.replaceChildren(
      ...Array.from({ length: SKELETONS }, () => {
        const li = document.createElement("li");
        li.className = "skeleton";
        li.append(document.createElement("skeleton-card"));
        return li;
      }),
    );
    root.querySelector(".empty").hidden = true;
    root.querySelector("error-panel").hidden = true;
    root.getElementById("more").hidden = true;
    root.querySelector(".summary").textContent = "Loading videos…";
  }

  // Adds a page of results to the grid; returns the first new card.
  #append(page) {
    const root = this.shadowRoot;
    const grid = root.getElementById("grid");
    grid.querySelectorAll("li.skeleton").forEach((li) => li.remove());
    grid.setAttribute("aria-busy", "false");
    let firstNew = null;
    for (const item of page.generations) {
      if (this.#items.has(item.id)) continue; // keyset pages never repeat; a guard all the same
      this.#items.set(item.id, item);
      const li = document.createElement("li");
      const card = document.createElement("video-card");
      card.generation = item;
      card.dataset.id = item.id;
      li.append(card);
      grid.append(li);
      firstNew ??= card;
    }
    this.#total = page.total;
    this.#nextCursor = page.next_cursor ?? null;
    this.#retry = null;
    this.#showCounts();
    this.#scheduleRefresh();
    return firstNew;
  }

  #showCounts() {
    const root = this.shadowRoot;
    const shown = this.#items.size;
    const filtered = Boolean(this.#query.status || this.#query.q);
    root.querySelector(".empty").hidden = shown > 0;
    root.querySelector(".empty-hint").textContent = filtered
      ? "Nothing matches this filter and search. Try other words or another status."
      : "Import a video, or come back when your first generation is ready.";
    root.getElementById("more").hidden = this.#nextCursor === null;
    const noun = this.#total === 1 ? "video" : "videos";
    let summary = `${this.#total} ${noun}`;
    if (shown === 0) summary = "No videos found.";
    else if (shown < this.#total) summary = `Showing ${shown} of ${this.#total} ${noun}`;
    root.querySelector(".summary").textContent = summary;
  }

  #failed(error, what) {
    if (api.isAbort(error)) return;
    if (error?.status === 401) {
      emit(this, "require-sign-in");
      return;
    }
    const root = this.shadowRoot;
    const grid = root.getElementById("grid");
    grid.querySelectorAll("li.skeleton").forEach((li) => li.remove());
    grid.setAttribute("aria-busy", "false");
    root.querySelector(".empty").hidden = true;
    root.getElementById("more").hidden = true;
    root.querySelector(".summary").textContent = "";
    const panel = root.querySelector("error-panel");
    panel.message = loadErrorMessage(error, what);
    panel.hidden = false;
  }

  // Pending and processing cards ask for their own news every few seconds while in view.
  #scheduleRefresh() {
    if (this.#refreshTimer || !this.#connection || document.hidden) return;
    if (![...this.#items.values()].some(inFlight)) return;
    this.#refreshTimer = setTimeout(() => this.#refresh(), REFRESH_MS);
  }

  async #refresh() {
    const signal = this.#connection?.signal;
    if (!signal) return;
    const waiting = [...this.#items.values()].filter(inFlight);
    await Promise.all(
      waiting.map(async (item) => {
        try {
          const fresh = await api.getGeneration(item.id, { signal });
          this.#replace(fresh);
        } catch (error) {
          if (error?.status === 404) this.#drop(item.id);
          // Other failures: the card keeps its last state and the next round tries again.
        }
      }),
    );
    this.#refreshTimer = null;
    this.#scheduleRefresh();
  }

  #replace(item) {
    if (!this.#items.has(item.id)) return;
    this.#items.set(item.id, item);
    const card = this.shadowRoot.querySelector(`video-card[data-id="${CSS.escape(item.id)}"]`);
    if (card) card.generation = item;
  }

  #drop(id) {
    if (!this.#items.delete(id)) return;
    this.shadowRoot.querySelector(`video-card[data-id="${CSS.escape(id)}"]`)?.closest("li").remove();
    this.#total = Math.max(0, this.#total - 1);
    this.#showCounts();
  }

  #toggleImport(open) {
    const root = this.shadowRoot;
    const toggle = root.getElementById("import-toggle");
    const panel = root.getElementById("import-panel");
    const show = open ?? panel.hidden;
    panel.hidden = !show;
    toggle.setAttribute("aria-expanded", String(show));
    toggle.textContent = show ? "Close import" : "Import video";
    if (show) root.querySelector("import-form").focus();
  }

  async #import(event) {
    event.stopPropagation();
    const form = event.target;
    this.#upload?.abort();
    const upload = new AbortController();
    this.#upload = upload;
    form.progress = 0;
    try {
      const item = await api.importGeneration(event.detail, {
        signal: upload.signal,
        onProgress: (percent) => {
          form.progress = percent;
        },
      });
      form.reset();
      this.#toggleImport(false);
      this.shadowRoot.getElementById("import-toggle").focus();
      const message = `Video imported: ${item.prompt}`;
      if (this.#query.status || this.#query.q) {
        // Clear the filters, or the new video might not be among the results.
        emit(this, "navigate", { url: "/gallery", message });
      } else {
        emit(this, "announce", { message, tone: "success" });
        this.#loadFirstPage();
      }
    } catch (error) {
      form.progress = null;
      if (api.isAbort(error)) {
        emit(this, "announce", { message: "Upload cancelled.", tone: "info" });
      } else if (error?.status === 401) {
        emit(this, "require-sign-in");
      } else {
        form.errors = importErrors(error);
      }
    } finally {
      if (this.#upload === upload) this.#upload = null;
    }
  }
}

customElements.define("gallery-page", GalleryPage);
