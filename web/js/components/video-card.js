// <video-card>: one generation in the gallery grid: thumbnail (lazy, in a 4:5 tile that tall
// and square videos fill; a wide one sits whole over a blurred copy of itself), status badge,
// the prompt on two lines (a link to the detail page, the one place a screen reader hears the
// prompt), cost, date, progress while in flight, the error when it failed, and "File missing"
// when a completed video's file is gone. The page sets a new generation on every live event;
// the card updates in place (the thumbnail appears once it is done).
//
// Pointed at or focused, it plays its video muted (one card at a time; see lib/card-preview.js).
//
// Properties: generation (a GenerationItem from the API). Updating it updates the card in place.

import { formatCost, formatDate, formatDuration, frameRatio, spokenDuration } from "../lib/format.js";
import { CardPreview } from "../lib/card-preview.js";
import { css, html, render } from "../lib/html.js";
import { ICONS } from "../lib/icons.js";
import { sentence } from "../lib/messages.js";
import { base } from "../lib/styles.js";
import "./status-badge.js";

const styles = css`
  :host { display: block; container-type: inline-size; }
  article {
    position: relative;
    display: flex; flex-direction: column;
    height: 100%;
    border: 1px solid var(--color-border);
    border-radius: var(--radius-lg);
    background: var(--color-surface);
    box-shadow: var(--shadow-sm);
    overflow: hidden;
    transition: border-color var(--duration-fast), transform var(--duration-fast);
  }
  article:hover { border-color: var(--color-border-strong); }
  article:focus-within { border-color: var(--color-focus); }
  /* One 4:5 tile for every card, so the grid's rows line up: tall (9:16) and square videos
     fill it, a wide one is shown whole, over a blurred copy of itself instead of black bars. */
  .frame {
    position: relative;
    aspect-ratio: 4 / 5;
    overflow: hidden;
    background: var(--color-media-bg);
  }
  img, .placeholder {
    position: absolute; inset: 0;
    width: 100%; height: 100%;
  }
  img { display: block; object-fit: cover; }
  /* The hover or focus preview (lib/card-preview.js), over the thumbnail once it plays. */
  .preview {
    position: absolute; inset: 0; width: 100%; height: 100%;
    object-fit: cover; opacity: 0; transition: opacity var(--duration-fast);
  }
  .preview.shown { opacity: 1; }
  article[data-shape="wide"] .preview { object-fit: contain; }
  .backdrop { filter: blur(14px) brightness(0.55); transform: scale(1.15); }
  article[data-shape="wide"] .picture { object-fit: contain; }
  article[data-missing] img { filter: grayscale(1) brightness(0.35); }
  article[data-missing] .placeholder { color: #ffc9c9; font-weight: 600; }
  .placeholder {
    display: grid; place-content: center; justify-items: center; gap: var(--space-2);
    color: #c9cfda;
    font-size: var(--text-sm);
    text-align: center;
    padding: var(--space-4);
  }
  .placeholder .icon { display: grid; opacity: 0.85; }
  status-badge { position: absolute; top: var(--space-2); left: var(--space-2); }
  .duration {
    position: absolute; right: var(--space-2); bottom: var(--space-2);
    padding: 0.1em 0.45em;
    border-radius: var(--radius-sm);
    background: rgb(0 0 0 / 0.7); color: #fff;
    font-size: var(--text-xs); font-variant-numeric: tabular-nums;
  }
  .body {
    display: flex; flex-direction: column; gap: var(--space-2);
    padding: var(--space-3) var(--space-4) var(--space-4);
    flex: 1;
  }
  h2 {
    font-size: var(--text-md); font-weight: 600; line-height: var(--leading-tight);
    display: -webkit-box;
    -webkit-box-orient: vertical;
    -webkit-line-clamp: 2;
    line-clamp: 2;
    overflow: hidden;
    overflow-wrap: anywhere;
    min-height: calc(2em * var(--leading-tight));
  }
  a { color: var(--color-text); text-decoration: none; border-radius: var(--radius-sm); }
  /* The whole card is the link's click target; the accessible name stays the prompt. */
  a::after { content: ""; position: absolute; inset: 0; border-radius: var(--radius-lg); }
  a:focus-visible { outline: none; }
  a:focus-visible::after {
    outline: var(--focus-ring-width) solid var(--color-focus);
    outline-offset: calc(-1 * var(--focus-ring-width));
  }
  article:hover h2 a { text-decoration: underline; }
  .progress { display: flex; align-items: center; gap: var(--space-2); font-size: var(--text-sm); }
  .progress span { color: var(--color-text-muted); font-variant-numeric: tabular-nums; min-width: 6.5em; }
  .problem {
    color: var(--color-danger-text); font-size: var(--text-sm);
    display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; line-clamp: 3;
    overflow: hidden;
  }
  .meta {
    display: flex; flex-wrap: wrap; justify-content: space-between; gap: var(--space-1) var(--space-3);
    margin-top: auto;
    color: var(--color-text-muted); font-size: var(--text-sm);
  }
  .cost { font-variant-numeric: tabular-nums; font-weight: 600; color: var(--color-text); }
  /* Two cards side by side on a phone: less padding, the date under the cost. */
  @container (max-width: 13rem) {
    .body { padding: var(--space-2) var(--space-3) var(--space-3); }
    h2 { font-size: var(--text-sm); }
    .meta { font-size: var(--text-xs); }
  }
`;

const PLACEHOLDERS = {
  pending: [ICONS.pending, "Waiting to start"],
  processing: [ICONS.processing, "Being generated"],
  failed: [ICONS.failed, "Generation failed"],
  completed: [ICONS.film, "No preview"],
  missing: [ICONS.missing, "File missing"],
};

class VideoCard extends HTMLElement {
  #generation = null;
  #connection = null;
  #thumbnailFailed = false;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  get generation() {
    return this.#generation;
  }

  set generation(value) {
    if (value?.thumbnail_url !== this.#generation?.thumbnail_url) this.#thumbnailFailed = false;
    this.#generation = value;
    this.#update();
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<article>
          <div class="frame">
            <img class="backdrop" alt="" loading="lazy" decoding="async" hidden>
            <img class="picture" alt="" loading="lazy" decoding="async" hidden>
            <div class="placeholder" aria-hidden="true" hidden><span class="icon"></span><span class="note"></span></div>
            <status-badge></status-badge>
            <span class="duration" hidden><span aria-hidden="true"></span><span class="visually-hidden"></span></span>
          </div>
          <div class="body">
            <h2><a></a></h2>
            <div class="progress" hidden>
              <progress max="100"></progress><span></span>
            </div>
            <p class="problem" hidden></p>
            <p class="meta"><span><span class="visually-hidden">Cost: </span><span class="cost"></span></span><time></time></p>
          </div>
        </article>`,
      );
    }
    this.#connection = new AbortController();
    this.shadowRoot.querySelector(".picture").addEventListener(
      "error",
      () => {
        this.#thumbnailFailed = true;
        this.#update();
      },
      { signal: this.#connection.signal },
    );
    const frame = this.shadowRoot.querySelector(".frame");
    new CardPreview(frame, frame.querySelector(".placeholder"), () => this.#previewSource()).attach(
      this.shadowRoot.querySelector("article"),
      this.#connection.signal,
    );
    this.#update();
  }

  // The versioned URL of a video that can play, else null (no preview).
  #previewSource() {
    const item = this.#generation;
    return item?.status === "completed" && item.file_available && item.video_url ? item.video_url : null;
  }

  disconnectedCallback() {
    this.#connection?.abort();
  }

  #update() {
    const root = this.shadowRoot;
    const item = this.#generation;
    if (!item || !root.firstChild) return;
    const inFlight = item.status === "pending" || item.status === "processing";
    const missing = item.status === "completed" && !item.file_available;

    const link = root.querySelector("a");
    link.href = `/gallery/${encodeURIComponent(item.id)}`;
    link.textContent = item.prompt;
    link.title = item.prompt;

    const state = missing ? "missing" : item.status;
    root.querySelector("status-badge").setAttribute("status", state);
    const article = root.querySelector("article");
    const [w, h] = frameRatio(item);
    article.dataset.shape = w > h * 1.1 ? "wide" : "tall";
    article.toggleAttribute("data-missing", missing);

    // The thumbnail is decorative: the link beside it names the video.
    const img = root.querySelector(".picture");
    const backdrop = root.querySelector(".backdrop");
    const showImage = Boolean(item.thumbnail_url) && !this.#thumbnailFailed;
    img.hidden = !showImage;
    backdrop.hidden = !showImage || article.dataset.shape !== "wide";
    if (showImage) {
      if (item.width && item.height) {
        img.width = item.width;
        img.height = item.height;
      }
      if (img.getAttribute("src") !== item.thumbnail_url) img.src = item.thumbnail_url;
      if (!backdrop.hidden && backdrop.getAttribute("src") !== item.thumbnail_url) backdrop.src = item.thumbnail_url;
    }
    const placeholder = root.querySelector(".placeholder");
    // A missing file says so over its (greyed) thumbnail.
    placeholder.hidden = showImage && !missing;
    const [icon, note] = PLACEHOLDERS[state] ?? PLACEHOLDERS.completed;
    const iconSlot = placeholder.querySelector(".icon");
    if (iconSlot.dataset.icon !== state) {
      render(iconSlot, icon);
      iconSlot.dataset.icon = state;
    }
    placeholder.querySelector(".note").textContent = note;

    const duration = root.querySelector(".duration");
    duration.hidden = !(item.status === "completed" && !missing && item.duration > 0);
    duration.firstElementChild.textContent = formatDuration(item.duration);
    duration.lastElementChild.textContent = `Duration: ${spokenDuration(item.duration)}`;

    const progress = root.querySelector(".progress");
    progress.hidden = !inFlight;
    if (inFlight) {
      const value = Math.max(0, Math.min(100, item.progress ?? 0));
      const bar = progress.querySelector("progress");
      bar.value = value;
      bar.setAttribute("aria-valuenow", String(value));
      bar.setAttribute("aria-label", "Generation progress");
      progress.querySelector("span").textContent =
        item.status === "pending" && value === 0 ? "Queued" : `${value}% done`;
    }

    const problem = root.querySelector(".problem");
    const problemText = item.status === "failed" ? sentence(item.error || "The generation failed") : "";
    problem.hidden = !problemText;
    problem.textContent = problemText;

    root.querySelector(".cost").textContent = formatCost(item.cost);
    const time = root.querySelector("time");
    time.dateTime = item.created_at;
    time.textContent = formatDate(item.created_at);
  }
}

customElements.define("video-card", VideoCard);
