// <storyboard-strip>: a filmstrip of a video's storyboard under the player: one button per
// tile, with its time, that seeks there. The tile of the moment being played is marked.
//
// Properties: cues (from lib/storyboard.js, already thinned out to a strip), current (the
// playing time, seconds).
// Events: seek (detail {time}).

import { emit } from "../lib/events.js";
import { formatDuration } from "../lib/format.js";
import { css, html, render } from "../lib/html.js";
import { cueAt, tileBox } from "../lib/storyboard.js";
import { base } from "../lib/styles.js";

// Wide tiles this high keep ten of them in a row under a desktop player; tall ones get more.
const WIDE_TILE_HEIGHT = 45;
const TALL_TILE_HEIGHT = 72;

const styles = css`
  :host { display: block; }
  ol {
    display: flex; gap: var(--space-1);
    margin: 0; padding: var(--space-1) 0 var(--space-2);
    list-style: none;
    overflow-x: auto;
  }
  button {
    display: grid; gap: var(--space-1); justify-items: center;
    padding: 2px;
    border: 2px solid transparent;
    border-radius: var(--radius-md);
    background: none; color: var(--color-text);
    font: inherit; font-size: var(--text-xs); font-variant-numeric: tabular-nums;
    cursor: pointer;
  }
  button:hover { background: var(--color-surface-hover); }
  button[aria-current="true"] { border-color: var(--color-accent); }
  .tile { position: relative; overflow: hidden; border-radius: var(--radius-sm); background: var(--color-media-bg); }
  .tile img { position: absolute; top: 0; left: 0; max-width: none; transform-origin: 0 0; }
`;

class StoryboardStrip extends HTMLElement {
  #cues = [];
  #current = 0;
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles];
  }

  get cues() {
    return this.#cues;
  }

  set cues(value) {
    this.#cues = Array.isArray(value) ? value : [];
    this.#draw();
  }

  get current() {
    return this.#current;
  }

  set current(value) {
    this.#current = Number(value) || 0;
    this.#mark();
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(this.shadowRoot, html`<ol aria-label="Storyboard: jump to a moment"></ol>`);
    }
    this.#connection = new AbortController();
    this.shadowRoot.querySelector("ol").addEventListener(
      "click",
      (event) => {
        const button = event.target.closest("button");
        if (button) emit(this, "seek", { time: Number(button.dataset.time) });
      },
      { signal: this.#connection.signal },
    );
    this.#draw();
  }

  disconnectedCallback() {
    this.#connection?.abort();
  }

  #draw() {
    const list = this.shadowRoot.querySelector("ol");
    if (!list) return;
    list.replaceChildren(
      ...this.#cues.map((cue) => {
        const li = document.createElement("li");
        const time = formatDuration(cue.start);
        render(
          li,
          html`<button type="button" data-time="${cue.start}" aria-label="Seek to ${time}">
            <span class="tile" aria-hidden="true"><img alt="" decoding="async"></span><span>${time}</span>
          </button>`,
        );
        // Sizes and offsets through the CSSOM (the page's policy forbids inline style markup).
        const box = tileBox(cue, cue.w >= cue.h ? WIDE_TILE_HEIGHT : TALL_TILE_HEIGHT);
        const tile = li.querySelector(".tile");
        tile.style.width = `${box.width}px`;
        tile.style.height = `${box.height}px`;
        const img = li.querySelector("img");
        img.style.transform = `scale(${box.scale}) translate(${-cue.x}px, ${-cue.y}px)`;
        img.src = cue.url;
        return li;
      }),
    );
    this.#mark();
  }

  #mark() {
    const root = this.shadowRoot;
    const now = cueAt(this.#cues, this.#current);
    for (const button of root.querySelectorAll("button")) {
      const on = now !== null && Number(button.dataset.time) === now.start;
      if (on) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }
}

customElements.define("storyboard-strip", StoryboardStrip);
