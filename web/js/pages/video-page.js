// <video-page>: one video: the player in its own aspect ratio, the prompt and metadata,
// Download, and Delete behind a confirmation dialog ("Cancel generation" while it is pending or
// processing). Live events move its progress and turn it into the player when the video is
// ready, without a reload or polling; after the stream reconnects the item is fetched again.
// Unknown or foreign ids show "Video not found". A completed video whose file is gone says
// "File missing" and offers no player or download. Opened from the gallery, it offers the
// previous and next video in the gallery's order and filter (fetching the gallery's next page
// when the last loaded card is reached).
//
// Properties: generationId (from the URL), backUrl (the gallery as the person left it), live
// (the tab's LiveUpdates, from main.js), sequence (the gallery's place, lib/gallery-place.js,
// or null: where previous and next come from).
// Events: navigate (detail {url, replace, back, message}), retitle (detail {title}),
// extend-gallery (detail {url, page}: the gallery's next page), require-sign-in.

import * as api from "../lib/api.js";
import { emit } from "../lib/events.js";
import {
  clip,
  formatBytes,
  formatCost,
  formatDate,
  formatDimensions,
  formatDuration,
  frameRatio,
  spokenDuration,
} from "../lib/format.js";
import { neighbours } from "../lib/gallery-place.js";
import { css, html, render } from "../lib/html.js";
import { ICONS } from "../lib/icons.js";
import { isStale } from "../lib/live-list.js";
import { deleteErrorMessage, loadErrorMessage, sentence } from "../lib/messages.js";
import { PAGE_SIZE, readGalleryQuery } from "../lib/query.js";
import { base } from "../lib/styles.js";
import "../components/confirm-dialog.js";
import "../components/error-panel.js";
import "../components/status-badge.js";
import "../components/video-player.js";

const DELETE_QUESTION = "Are you sure you want to delete this video? This action cannot be undone.";
const CANCEL_QUESTION = "Cancel this generation? It stops and is removed from your videos. This cannot be undone.";

function inFlight(item) {
  return item?.status === "pending" || item?.status === "processing";
}

const styles = css`
  :host {
    display: block;
    --w: 16;
    --h: 9;
    /* What the header, the back link and some air take from the viewport's height. */
    --chrome: calc(var(--header-height) + 7rem);
  }
  .bar {
    display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between;
    gap: var(--space-2) var(--space-4);
    margin: var(--space-1) 0 var(--space-4);
  }
  .back { display: inline-block; font-weight: 600; border-radius: var(--radius-sm); }
  .steps { display: flex; gap: var(--space-2); margin-inline-start: auto; }
  .steps a:not([href]) { opacity: 0.45; cursor: default; }
  .steps a:not([href]):hover { background: transparent; }
  .layout { display: grid; gap: var(--space-5); align-items: start; }
  @media (min-width: 64rem) {
    .layout { grid-template-columns: minmax(0, 1fr) 22rem; }
  }
  .stage { min-width: 0; }
  status-badge { justify-self: start; }
  /* The video's own shape, as the player's; icon, words and bar sit together in its middle. */
  .placeholder {
    display: grid; place-content: center; justify-items: center; gap: var(--space-3);
    aspect-ratio: var(--w) / var(--h);
    width: min(100%, calc((100dvh - var(--chrome)) * var(--w) / var(--h)));
    min-width: min(100%, 16rem);
    margin-inline: auto;
    padding: var(--space-5);
    border-radius: var(--radius-lg);
    background: var(--color-media-bg);
    color: #dfe3ea;
    text-align: center;
  }
  .placeholder .icon { display: grid; }
  .placeholder progress { width: min(20rem, 100%); min-width: 10rem; }
  .placeholder-text { max-width: 24rem; }
  .placeholder.missing { color: #ffb4b4; }
  .info {
    display: grid; gap: var(--space-4);
    padding: var(--space-5);
    border: 1px solid var(--color-border);
    border-radius: var(--radius-lg);
    background: var(--color-surface);
  }
  h1 { font-size: var(--text-lg); line-height: var(--leading); font-weight: 600; overflow-wrap: anywhere; }
  .problem { color: var(--color-danger-text); font-weight: 600; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: var(--space-2) var(--space-4); font-size: var(--text-sm); }
  dt { color: var(--color-text-muted); }
  dd { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
  .actions { display: flex; flex-wrap: wrap; gap: var(--space-3); }
  .action-error { color: var(--color-danger-text); font-weight: 600; }
  .action-error:empty { display: none; }
  .not-found { max-width: 36rem; margin: var(--space-7) auto; text-align: center; }
  .not-found h1 { font-size: var(--text-2xl); margin-bottom: var(--space-3); }
  .not-found p { color: var(--color-text-muted); margin-bottom: var(--space-5); }
  .loading { color: var(--color-text-muted); }
`;

class VideoPage extends HTMLElement {
  generationId = "";
  backUrl = "/gallery";
  live = null;
  #sequence = null;
  #extending = null;
  #ratio = new CSSStyleSheet();
  #item = null;
  #connection = null;
  #refresh = null;
  #deleting = false;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles, this.#ratio];
  }

  get sequence() {
    return this.#sequence;
  }

  set sequence(value) {
    this.#sequence = value ?? null;
    if (this.#connection) this.#showSteps();
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<div class="bar">
            <a class="back" href="/gallery"><span aria-hidden="true">←</span> Back to your videos</a>
            <nav class="steps" aria-label="Videos in the gallery" hidden>
              <a class="button quiet" id="previous" rel="prev"><span aria-hidden="true">←</span> Previous<span class="visually-hidden"> video</span></a>
              <a class="button quiet" id="next" rel="next">Next<span class="visually-hidden"> video</span> <span aria-hidden="true">→</span></a>
            </nav>
          </div>
          <p class="loading" role="status">Loading the video…</p>
          <error-panel hidden></error-panel>
          <section class="not-found" hidden aria-labelledby="not-found-title">
            <h1 id="not-found-title">Video not found</h1>
            <p>This video does not exist: it may have been deleted, or the link is wrong.</p>
            <a class="button primary" href="/gallery">Go to your videos</a>
          </section>
          <article class="layout" hidden aria-labelledby="prompt">
            <div class="stage">
              <video-player hidden></video-player>
              <div class="placeholder" hidden>
                <span class="icon" aria-hidden="true"></span>
                <p class="placeholder-text"></p>
                <progress max="100" hidden aria-label="Generation progress"></progress>
              </div>
            </div>
            <div class="info">
              <status-badge></status-badge>
              <h1 id="prompt"></h1>
              <p class="problem" hidden></p>
              <dl>
                <dt>Duration</dt><dd><span id="duration" aria-hidden="true"></span><span class="visually-hidden" id="duration-words"></span></dd>
                <dt>Dimensions</dt><dd id="dimensions"></dd>
                <dt>File size</dt><dd id="file-size"></dd>
                <dt>Cost</dt><dd id="cost"></dd>
                <dt>Created</dt><dd><time id="created"></time></dd>
                <dt>Completed</dt><dd><time id="completed"></time></dd>
              </dl>
              <div class="actions">
                <a class="button primary" id="download" hidden>Download</a>
                <button type="button" class="button danger" id="delete">Delete</button>
              </div>
              <p class="action-error" id="action-error" role="alert"></p>
            </div>
          </article>
          <confirm-dialog confirm-label="Delete" cancel-label="Cancel"></confirm-dialog>`,
      );
      this.shadowRoot.querySelector("confirm-dialog").setAttribute("message", DELETE_QUESTION);
    }
    this.shadowRoot.querySelector(".back").href = this.backUrl;
    this.#connection = new AbortController();
    const { signal } = this.#connection;
    const root = this.shadowRoot;
    const plainClick = (event) =>
      event.button === 0 && !(event.metaKey || event.ctrlKey || event.shiftKey || event.altKey);
    root.querySelector(".back").addEventListener(
      "click",
      (event) => {
        if (!plainClick(event)) return;
        event.preventDefault();
        emit(this, "navigate", { url: this.backUrl, back: true });
      },
      { signal },
    );
    // Stepping through the gallery replaces this entry: Back still leads to the gallery.
    root.querySelector(".steps").addEventListener(
      "click",
      (event) => {
        const link = event.target.closest("a");
        if (!link || !plainClick(event)) return;
        event.preventDefault();
        if (link.hasAttribute("href")) emit(this, "navigate", { url: link.getAttribute("href"), replace: true });
      },
      { signal },
    );
    this.#showSteps();
    root.querySelector("error-panel").addEventListener(
      "retry",
      (event) => {
        event.stopPropagation();
        this.#load();
      },
      { signal },
    );
    root.getElementById("delete").addEventListener(
      "click",
      () => {
        root.querySelector("confirm-dialog").open = true;
      },
      { signal },
    );
    const dialog = root.querySelector("confirm-dialog");
    dialog.addEventListener("confirm", (event) => this.#delete(event), { signal });
    dialog.addEventListener("cancel", (event) => event.stopPropagation(), { signal });
    if (this.live) {
      this.live.addEventListener("generation", ({ detail: item }) => this.#onGeneration(item), { signal });
      this.live.addEventListener("deleted", ({ detail }) => this.#onDeleted(detail.generation_id), { signal });
      this.live.addEventListener("open", () => this.#refetch(), { signal });
    }
    this.#load();
  }

  disconnectedCallback() {
    this.#connection?.abort();
    this.#connection = null;
    this.#refresh?.abort();
    this.#extending?.abort();
    this.#extending = null;
  }

  // Previous and next in the gallery's order; at its last loaded card, its next page is asked
  // for (once), and the links follow when it arrives.
  #showSteps() {
    const root = this.shadowRoot;
    const place = this.#sequence;
    const { previous, next, last } = place ? neighbours(place.items, this.generationId) : {};
    const steps = root.querySelector(".steps");
    steps.hidden = !(previous || next || last);
    for (const [id, item] of [["previous", previous], ["next", next]]) {
      const link = root.getElementById(id);
      if (item) {
        link.href = `/gallery/${encodeURIComponent(item.id)}`;
        link.title = item.prompt;
      } else {
        link.removeAttribute("href");
        link.removeAttribute("title");
      }
      link.setAttribute("aria-disabled", String(!item));
    }
    if (last && place.nextCursor && !this.#extending) this.#extend(place);
  }

  async #extend(place) {
    const extending = new AbortController();
    this.#extending = extending;
    try {
      const page = await api.listGenerations(readGalleryQuery(place.search), {
        cursor: place.nextCursor,
        limit: PAGE_SIZE,
        signal: extending.signal,
      });
      emit(this, "extend-gallery", { url: place.url, page });
    } catch (error) {
      if (error?.status === 401) emit(this, "require-sign-in");
      // Otherwise there is simply no next link; the gallery itself still pages on.
    } finally {
      if (this.#extending === extending) this.#extending = null;
    }
  }

  #onGeneration(item) {
    if (item.id !== this.generationId || !this.#item || this.#deleting) return;
    if (isStale(this.#item, item)) return;
    this.#show(item);
  }

  #onDeleted(id) {
    if (id !== this.generationId || this.#deleting || !this.#item) return;
    // Deleted elsewhere (another tab): say so rather than show a video that is gone.
    this.#item = null;
    this.shadowRoot.querySelector("confirm-dialog").open = false;
    this.#showNotFound();
  }

  // After the stream (re)opens: the item again, for whatever happened while it was closed.
  async #refetch() {
    if (!this.#item || this.#deleting) return;
    this.#refresh?.abort();
    const refresh = new AbortController();
    this.#refresh = refresh;
    try {
      this.#show(await api.getGeneration(this.generationId, { signal: refresh.signal }));
    } catch (error) {
      if (api.isAbort(error)) return;
      if (error?.status === 404) this.#showNotFound();
      else if (error?.status === 401) emit(this, "require-sign-in");
      // Otherwise the page keeps what it shows; the next event brings news.
    }
  }

  #showNotFound() {
    const root = this.shadowRoot;
    emit(this, "retitle", { title: "Video not found" });
    root.querySelector(".not-found").hidden = false;
    root.querySelector(".layout").hidden = true;
    root.querySelector(".bar").hidden = true;
    root.querySelector("video-player").video?.pause();
  }

  async #load() {
    const root = this.shadowRoot;
    const signal = this.#connection?.signal;
    root.querySelector("error-panel").hidden = true;
    root.querySelector(".loading").hidden = false;
    try {
      this.#show(await api.getGeneration(this.generationId, { signal }));
    } catch (error) {
      if (api.isAbort(error)) return;
      root.querySelector(".loading").hidden = true;
      if (error?.status === 401) {
        emit(this, "require-sign-in");
      } else if (error?.status === 404) {
        this.#showNotFound();
      } else {
        const panel = root.querySelector("error-panel");
        panel.message = loadErrorMessage(error, "this video");
        panel.hidden = false;
      }
    }
  }

  #show(item) {
    this.#item = item;
    const root = this.shadowRoot;
    root.querySelector(".loading").hidden = true;
    root.querySelector(".layout").hidden = false;
    const playable = item.status === "completed" && item.file_available && item.video_url;
    const missing = item.status === "completed" && !item.file_available;

    const player = root.querySelector("video-player");
    player.hidden = !playable;
    if (playable) {
      player.setAttribute("width", String(item.width ?? ""));
      player.setAttribute("height", String(item.height ?? ""));
      player.setAttribute("label", `Video: ${item.prompt}`);
      player.setAttribute("src", item.video_url);
      player.setAttribute("storyboard", item.storyboard_url ?? "");
    }
    const placeholder = root.querySelector(".placeholder");
    placeholder.hidden = Boolean(playable);
    placeholder.classList.toggle("missing", missing);
    const [w, h] = frameRatio(item);
    this.#ratio.replaceSync(`:host { --w: ${w}; --h: ${h}; }`);
    const bar = placeholder.querySelector("progress");
    bar.hidden = !inFlight(item);
    bar.value = item.progress ?? 0;
    bar.setAttribute("aria-valuenow", String(item.progress ?? 0));
    const [icon, text] = {
      pending: [ICONS.pending, `Waiting to start${item.progress ? ` (${item.progress}%)` : ""}.`],
      processing: [ICONS.processing, `Being generated: ${item.progress ?? 0}% done.`],
      failed: [ICONS.failed, "This generation failed, so there is no video to play."],
      completed: [ICONS.missing, "File missing: the video file is gone from the library, so it cannot be played or downloaded."],
    }[item.status] ?? [ICONS.film, ""];
    render(placeholder.querySelector(".icon"), icon);
    placeholder.querySelector(".placeholder-text").textContent = text;

    root.querySelector("status-badge").setAttribute("status", missing ? "missing" : item.status);
    root.getElementById("prompt").textContent = item.prompt;
    emit(this, "retitle", { title: clip(item.prompt) });
    const problem = root.querySelector(".problem");
    problem.hidden = item.status !== "failed";
    problem.textContent = sentence(item.error || "The generation failed");

    // An unfinished video has no length yet: a dash, never 0:00.
    const duration = item.status === "completed" || item.duration > 0 ? item.duration : null;
    root.getElementById("duration").textContent = formatDuration(duration);
    root.getElementById("duration-words").textContent = spokenDuration(duration);
    root.getElementById("dimensions").textContent = formatDimensions(item.width, item.height);
    root.getElementById("file-size").textContent = formatBytes(item.file_size);
    root.getElementById("cost").textContent = formatCost(item.cost);
    const created = root.getElementById("created");
    created.dateTime = item.created_at;
    created.textContent = formatDate(item.created_at);
    const completed = root.getElementById("completed");
    completed.dateTime = item.completed_at ?? "";
    completed.textContent = formatDate(item.completed_at);

    const download = root.getElementById("download");
    download.hidden = !playable;
    if (playable) {
      download.href = item.video_url;
      download.download = `ad_${item.id}.mp4`;
    }
    if (!this.#deleting) {
      const cancelling = inFlight(item);
      root.getElementById("delete").textContent = cancelling ? "Cancel generation" : "Delete";
      const dialog = root.querySelector("confirm-dialog");
      dialog.setAttribute("message", cancelling ? CANCEL_QUESTION : DELETE_QUESTION);
      dialog.setAttribute("confirm-label", cancelling ? "Cancel generation" : "Delete");
      dialog.setAttribute("cancel-label", cancelling ? "Keep it" : "Cancel");
    }
  }

  async #delete(event) {
    event.stopPropagation();
    if (this.#deleting || !this.#item) return;
    const root = this.shadowRoot;
    const button = root.getElementById("delete");
    const errorText = root.getElementById("action-error");
    const cancelling = inFlight(this.#item);
    const done = cancelling ? "Generation cancelled." : "Video deleted.";
    const label = button.textContent;
    this.#deleting = true;
    button.disabled = true;
    button.textContent = cancelling ? "Cancelling…" : "Deleting…";
    errorText.textContent = "";
    try {
      await api.deleteGeneration(this.#item.id, { signal: this.#connection?.signal });
      emit(this, "navigate", { url: this.backUrl, replace: true, message: done });
    } catch (error) {
      if (api.isAbort(error)) return;
      if (error?.status === 401) {
        emit(this, "require-sign-in");
        return;
      }
      if (error?.status === 404) {
        emit(this, "navigate", { url: this.backUrl, replace: true, message: done });
        return;
      }
      errorText.textContent = deleteErrorMessage(error);
      button.disabled = false;
      button.textContent = label;
      button.focus();
    } finally {
      this.#deleting = false;
    }
  }
}

customElements.define("video-page", VideoPage);
