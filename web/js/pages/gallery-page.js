// <gallery-page>: the person's videos. A responsive grid of cards, newest first; the status
// filter and the search live in the URL (?status=&q=) and survive Load More, back, forward and
// reload; Load More follows the listing's keyset cursor, so videos added or deleted meanwhile
// never make a card repeat or go missing; skeletons while loading, "No videos found" when
// nothing matches, an error with Retry when the API fails; a panel to import videos (files
// dropped anywhere on the page land in it; the uploads go to the app's queue) and a
// "New generation" dialog. Cards follow the live events (no polling): a new one appears, a
// pending one starts, its bar moves, it completes or fails, a deleted one goes; after every
// (re)connection of the stream the first page is fetched again, so nothing missed is lost.
//
// Properties: search (the URL's query string; main.js sets it on every navigation), live (the
// tab's LiveUpdates, from main.js), firstPage (a listing promise for this search already on
// its way, used once instead of asking again), restore (a place from snapshot(): its cards are
// shown at once and the first page is fetched again quietly).
// Attribute (set by the page): data-live, once the cards shown include everything up to the
// live stream's opening (every change since then arrives as an event).
// Methods: snapshot() (the cards loaded, the cursor and the card last opened), focusCard(id),
// showImported(item) (an import of this tab is in: its card at once).
// Events: navigate (detail {url, replace}), announce (detail {message, tone}),
// require-sign-in (the session has ended).

import * as api from "../lib/api.js";
import { emit } from "../lib/events.js";
import { css, html, render } from "../lib/html.js";
import { applyEvent, mergeFirstPage } from "../lib/live-list.js";
import { generationRequestErrors, loadErrorMessage, sentence } from "../lib/messages.js";
import { PAGE_SIZE, gallerySearch, readGalleryQuery, sameQuery } from "../lib/query.js";
import { base } from "../lib/styles.js";
import "../components/error-panel.js";
import "../components/gallery-filters.js";
import "../components/generation-dialog.js";
import "../components/import-form.js";
import "../components/skeleton-card.js";
import "../components/video-card.js";

const SKELETONS = 8;

const styles = css`
  :host { display: block; }
  .top {
    display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between;
    gap: var(--space-3);
    margin: var(--space-2) 0 var(--space-4);
  }
  h1 { font-size: var(--text-2xl); line-height: var(--leading-tight); }
  .top .buttons { display: flex; flex-wrap: wrap; gap: var(--space-3); }
  .import {
    margin-bottom: var(--space-5);
    padding: var(--space-5);
    border: 1px solid var(--color-border);
    border-radius: var(--radius-lg);
    background: var(--color-surface);
  }
  .import h2 { font-size: var(--text-lg); margin-bottom: var(--space-3); }
  gallery-filters { margin-bottom: var(--space-3); }
  .drop-hint {
    position: fixed; inset: var(--space-3); z-index: 10;
    display: grid; place-content: center;
    border: 3px dashed var(--color-accent);
    border-radius: var(--radius-lg);
    background: color-mix(in srgb, var(--color-surface) 85%, transparent);
    font-size: var(--text-xl); font-weight: 600;
    pointer-events: none;
  }
  .summary { min-height: 1.5em; margin-bottom: var(--space-3); color: var(--color-text-muted); font-size: var(--text-sm); }
  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(min(100%, var(--card-min)), 1fr));
    gap: var(--space-4);
    margin: 0; padding: 0;
    list-style: none;
  }
  .grid > li { min-width: 0; }
  /* Phones: two cards a row rather than one a screen. */
  @media (max-width: 39.99rem) {
    .grid { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: var(--space-3); }
  }
  .grid > li > * { height: 100%; }
  .empty {
    padding: var(--space-7) var(--space-4);
    border: 1px dashed var(--color-border-strong);
    border-radius: var(--radius-lg);
    text-align: center;
  }
  .empty h2 { font-size: var(--text-xl); margin-bottom: var(--space-2); }
  .empty p { color: var(--color-text-muted); }
  .empty .button { margin-top: var(--space-4); }
  error-panel { margin-top: var(--space-4); }
  .more { display: flex; justify-content: center; margin-top: var(--space-5); }
`;

class GalleryPage extends HTMLElement {
  #search = "";
  #query = readGalleryQuery("");
  #loadedQuery = null;
  // items in listing order, the listing's total, its next_cursor (null once the last page is
  // shown); `shown` says the first page has arrived (before that, events wait in `#queued`).
  #state = { items: [], total: 0, nextCursor: null, shown: false };
  #cards = new Map(); // id -> its <li>
  #queued = null;
  #retry = null;
  #load = null;
  #resync = null;
  #requesting = null;
  #connection = null;
  #opened = null; // the id of the card last clicked (opened)
  #resyncWanted = false; // the stream opened while a first page asked for before it was on its way
  live = null;
  firstPage = null;
  restore = null;

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
            <div class="buttons">
              <button type="button" class="button primary" id="new-generation" aria-haspopup="dialog">New generation</button>
              <button type="button" class="button" id="import-toggle" aria-expanded="false"
                aria-controls="import-panel">Import video</button>
            </div>
          </div>
          <generation-dialog></generation-dialog>
          <p class="drop-hint" hidden>Drop the videos to import them</p>
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
            <button type="button" class="button" id="clear-filters" hidden>Clear filters</button>
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
    root.getElementById("grid").addEventListener(
      "click",
      (event) => {
        const card = event.composedPath().find((node) => node.localName === "video-card");
        if (card) this.#opened = card.dataset.id;
      },
      { signal },
    );
    root.getElementById("more").addEventListener("click", () => this.#loadMore(), { signal });
    root.getElementById("clear-filters").addEventListener(
      "click",
      () => emit(this, "navigate", { url: `/gallery${gallerySearch({ sort: this.#query.sort })}` }),
      { signal },
    );
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
    // The upload queue above the pages (main.js) takes the checked files; the panel closes.
    root.querySelector("import-form").addEventListener("import-videos", () => this.#handedOver(), { signal });
    for (const type of ["dragenter", "dragover", "dragleave", "drop"]) {
      this.addEventListener(type, (event) => this.#dragged(event), { signal });
    }
    const dialog = root.querySelector("generation-dialog");
    root.getElementById("new-generation").addEventListener(
      "click",
      () => {
        dialog.open = true;
      },
      { signal },
    );
    dialog.addEventListener("request-generation", (event) => this.#requestGeneration(event), { signal });
    dialog.addEventListener("cancel", (event) => {
      event.stopPropagation();
      this.#requesting?.abort();
    }, { signal });
    if (this.live) {
      this.live.addEventListener("generation", (event) => this.#onEvent({ type: "generation", item: event.detail }), { signal });
      this.live.addEventListener("deleted", (event) => this.#onEvent({ type: "deleted", ...event.detail }), { signal });
      // Whatever happened while the stream was not open is in the first page.
      this.live.addEventListener("open", () => this.#resyncFirstPage(), { signal });
    }
    this.#showFilters();
    const place = this.restore;
    this.restore = null;
    if (place && sameQuery(readGalleryQuery(place.search), this.#query)) this.#restorePlace(place);
    else this.#loadFirstPage();
  }

  snapshot() {
    if (!this.#state.shown) return null;
    const { items, total, nextCursor } = this.#state;
    return { search: this.#search, items, total, nextCursor, focusId: this.#opened };
  }

  // Keyboard focus on a card's link, without scrolling (the caller has put the page where it
  // was); a card out of view is brought into it.
  focusCard(id) {
    const card = this.#cards.get(id)?.firstElementChild;
    const link = card?.shadowRoot.querySelector("a");
    if (!link) return false;
    link.focus({ preventScroll: true });
    const box = card.getBoundingClientRect();
    if (box.bottom < 0 || box.top > window.innerHeight) card.scrollIntoView({ block: "center" });
    return true;
  }

  // The cards as they were, at once; then the first page again, merged in, for whatever
  // happened meanwhile (the live events were not followed while the page was away).
  #restorePlace(place) {
    this.#loadedQuery = this.#query;
    this.#opened = place.focusId ?? null;
    this.#state = { items: [...place.items], total: place.total, nextCursor: place.nextCursor ?? null, shown: true };
    this.#draw();
    this.#resyncFirstPage();
  }

  disconnectedCallback() {
    this.#connection?.abort();
    this.#connection = null;
    this.#load?.abort();
    this.#resync?.abort();
    this.#requesting?.abort();
    this.#loadedQuery = null;
  }

  #showFilters() {
    const filters = this.shadowRoot.querySelector("gallery-filters");
    filters.status = this.#query.status;
    filters.q = this.#query.q;
    filters.sort = this.#query.sort;
  }

  #filter(event) {
    event.stopPropagation();
    const { status, q, sort, source } = event.detail;
    // Typing refines the current entry; choosing a status or an order is a step worth going
    // back to.
    const url = `/gallery${gallerySearch({ status, q, sort })}`;
    emit(this, "navigate", { url, replace: source === "search" });
  }

  #startLoad() {
    this.#load?.abort();
    this.#resync?.abort();
    this.#load = new AbortController();
    return this.#load.signal;
  }

  async #loadFirstPage() {
    const query = this.#query;
    const signal = this.#startLoad();
    this.#loadedQuery = query;
    this.#retry = () => this.#loadFirstPage();
    this.#showSkeletons();
    this.#queued = [];
    const prefetched = this.firstPage;
    this.firstPage = null;
    // A page asked for after the stream opened misses nothing; one asked for before may.
    const live = !prefetched && Boolean(this.live?.connected);
    this.#resyncWanted = false;
    try {
      const page = await (prefetched ?? api.listGenerations(query, { limit: PAGE_SIZE, signal }));
      if (signal.aborted) throw new DOMException("Superseded.", "AbortError");
      this.#state = { items: [], total: 0, nextCursor: null, shown: true };
      this.#append(page);
      this.#applyQueued();
      if (live) this.toggleAttribute("data-live", true);
      else if (this.#resyncWanted) this.#resyncFirstPage();
    } catch (error) {
      if (!api.isAbort(error)) this.#queued = null;
      this.#failed(error, "your videos");
    }
  }

  // The events that came while a first page was on its way, applied on top of it (the
  // reducer ignores what the page already shows newer).
  #applyQueued() {
    const queued = this.#queued ?? [];
    this.#queued = null;
    for (const event of queued) this.#state = { ...this.#state, ...applyEvent(this.#state, event, this.#loadedQuery) };
    if (queued.length) this.#draw();
  }

  #onEvent(event) {
    if (!this.#loadedQuery) return;
    if (this.#queued) {
      this.#queued.push(event);
      return;
    }
    if (!this.#state.shown) return; // the first page failed; Retry will fetch it all
    const next = applyEvent(this.#state, event, this.#loadedQuery);
    if (next === this.#state) return;
    this.#state = { ...this.#state, ...next };
    this.#draw();
  }

  // After the stream (re)opens: the first page again, quietly, merged into what is shown.
  async #resyncFirstPage() {
    if (this.#queued && !this.#state.shown) {
      this.#resyncWanted = true; // after the first page lands: it was asked for earlier
      return;
    }
    if (!this.#state.shown || this.#queued) return;
    const query = this.#loadedQuery;
    this.#resync?.abort();
    const resync = new AbortController();
    this.#resync = resync;
    const queue = [];
    this.#queued = queue;
    try {
      const page = await api.listGenerations(query, { limit: PAGE_SIZE, signal: resync.signal });
      if (query === this.#loadedQuery) {
        this.#state = { ...mergeFirstPage(this.#state, page, query), shown: true };
        this.#draw();
        this.toggleAttribute("data-live", true);
      }
    } catch (error) {
      if (error?.status === 401) emit(this, "require-sign-in");
      // Otherwise (Load more took over, the server failed) the cards keep their state and
      // the events that came meanwhile still apply; the next reconnect fetches again.
    } finally {
      if (this.#resync === resync) this.#resync = null;
      if (this.#queued === queue) this.#applyQueued(); // unless a new first page owns the queue
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
        cursor: this.#state.nextCursor,
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
    this.#state = { items: [], total: 0, nextCursor: null, shown: false };
    this.#cards.clear();
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
    const known = new Set(this.#state.items.map((item) => item.id));
    // Keyset pages never repeat; a guard all the same (an event may have brought one already).
    const added = page.generations.filter((item) => !known.has(item.id));
    this.#state = {
      items: [...this.#state.items, ...added],
      total: page.total,
      nextCursor: page.next_cursor ?? null,
      shown: true,
    };
    this.#retry = null;
    this.#draw();
    return added.length ? this.#cards.get(added[0].id)?.firstElementChild ?? null : null;
  }

  // The grid made to match the state: cards updated in place, new ones inserted, gone ones
  // removed; a card that stays is never moved, so keyboard focus stays where it was.
  #draw() {
    const root = this.shadowRoot;
    const grid = root.getElementById("grid");
    grid.querySelectorAll("li.skeleton").forEach((li) => li.remove());
    grid.setAttribute("aria-busy", "false");
    const wanted = new Set();
    let cursor = grid.firstElementChild;
    for (const item of this.#state.items) {
      wanted.add(item.id);
      let li = this.#cards.get(item.id);
      if (!li) {
        li = document.createElement("li");
        const card = document.createElement("video-card");
        card.dataset.id = item.id;
        li.append(card);
        this.#cards.set(item.id, li);
      }
      const card = li.firstElementChild;
      if (card.generation !== item) card.generation = item;
      if (li === cursor) cursor = cursor.nextElementSibling;
      else grid.insertBefore(li, cursor);
    }
    for (const [id, li] of this.#cards) {
      if (wanted.has(id)) continue;
      li.remove();
      this.#cards.delete(id);
    }
    this.#showCounts();
  }

  #showCounts() {
    const root = this.shadowRoot;
    const shown = this.#state.items.length;
    const total = this.#state.total;
    const filtered = Boolean(this.#query.status || this.#query.q);
    root.querySelector(".empty").hidden = shown > 0;
    root.querySelector(".empty-hint").textContent = filtered
      ? "Nothing matches this filter and search. Try other words or another status."
      : "Request a new generation or import a video.";
    root.getElementById("clear-filters").hidden = !filtered;
    root.getElementById("more").hidden = this.#state.nextCursor === null;
    const noun = total === 1 ? "video" : "videos";
    let summary = `${total} ${noun}`;
    if (shown === 0) summary = ""; // the empty state below says it, once
    else if (shown < total) summary = `Showing ${shown} of ${total} ${noun}`;
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

  async #requestGeneration(event) {
    event.stopPropagation();
    const dialog = event.target;
    this.#requesting?.abort();
    const requesting = new AbortController();
    this.#requesting = requesting;
    dialog.busy = true;
    try {
      const item = await api.requestGeneration(event.detail, { signal: requesting.signal });
      dialog.busy = false;
      dialog.reset();
      dialog.open = false;
      const message = sentence(`Generation requested: ${item.prompt}`);
      if (this.#query.status || this.#query.q) {
        // Clear the filters, or the new card might not be among the results.
        emit(this, "navigate", { url: "/gallery", message });
      } else {
        emit(this, "announce", { message, tone: "success" });
        this.#onEvent({ type: "generation", item }); // the card at once, before its event
      }
    } catch (error) {
      dialog.busy = false;
      if (api.isAbort(error)) return;
      if (error?.status === 401) emit(this, "require-sign-in");
      else dialog.errors = generationRequestErrors(error);
    } finally {
      if (this.#requesting === requesting) this.#requesting = null;
    }
  }

  // An import of this tab finished (main.js tells): its card at once, before its live event,
  // and the first page again, as the server has it now.
  showImported(item) {
    if (!this.#connection || !item) return;
    this.#onEvent({ type: "generation", item });
    this.#resyncFirstPage();
  }

  // The files are in the upload queue now; a filtered view might never show them.
  #handedOver() {
    this.#toggleImport(false);
    this.shadowRoot.getElementById("import-toggle").focus();
    if (this.#query.status || this.#query.q) {
      emit(this, "navigate", { url: `/gallery${gallerySearch({ sort: this.#query.sort })}` });
    }
  }

  // Files dragged over the gallery: a hint while they hover, the import form once dropped.
  #dragged(event) {
    if (!event.dataTransfer?.types?.includes("Files")) return;
    event.preventDefault();
    const hint = this.shadowRoot.querySelector(".drop-hint");
    if (event.type === "dragleave") {
      if (!event.relatedTarget || !this.contains(event.relatedTarget)) hint.hidden = true;
      return;
    }
    if (event.type !== "drop") {
      event.dataTransfer.dropEffect = "copy";
      hint.hidden = false;
      return;
    }
    hint.hidden = true;
    const files = [...event.dataTransfer.files];
    if (!files.length) return;
    this.#toggleImport(true);
    this.shadowRoot.querySelector("import-form").addFiles(files);
  }
}

customElements.define("gallery-page", GalleryPage);
