// <video-player>: an HTML5 player whose box takes the video's own aspect ratio and fits the
// viewport (a 9:16 clip is as tall as the screen allows, a 16:9 one as wide), never cropped.
//
// Attributes: src (video URL), width and height (pixels, from the API), label (accessible name).
// Properties: video (the inner <video>, read-only, for callers that need to control playback).

import { css, html, render } from "../lib/html.js";
import { base } from "../lib/styles.js";

const styles = css`
  :host {
    display: block;
    --w: 16;
    --h: 9;
    /* What the header, the back link and some air take from the viewport's height. */
    --chrome: calc(var(--header-height) + 7rem);
  }
  .box {
    position: relative;
    aspect-ratio: var(--w) / var(--h);
    width: min(100%, calc((100dvh - var(--chrome)) * var(--w) / var(--h)));
    min-width: min(100%, 12rem);
    margin-inline: auto;
    border-radius: var(--radius-lg);
    background: var(--color-media-bg);
    overflow: hidden;
  }
  video {
    display: block;
    width: 100%; height: 100%;
    object-fit: contain;
    background: var(--color-media-bg);
  }
  .error {
    margin-top: var(--space-3);
    color: var(--color-danger-text);
    font-weight: 600;
  }
`;

const MEDIA_ERRORS = {
  1: "Playback was stopped before the video loaded.",
  2: "The video stopped loading because of a network problem. Reload the page to try again.",
  3: "The video file is damaged and cannot be played.",
  4: "The video could not be loaded: the file is missing or this browser cannot play it.",
};

class VideoPlayer extends HTMLElement {
  static observedAttributes = ["src", "width", "height", "label"];
  #ratio = new CSSStyleSheet();
  #connection = null;

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [base, styles, this.#ratio];
  }

  get video() {
    return this.shadowRoot.querySelector("video");
  }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) {
      render(
        this.shadowRoot,
        html`<div class="box"><video controls preload="metadata" playsinline></video></div>
          <p class="error" role="alert" hidden></p>`,
      );
    }
    this.#connection = new AbortController();
    const { signal } = this.#connection;
    this.video.addEventListener("error", () => this.#showError(), { signal });
    this.video.addEventListener("loadedmetadata", () => this.#metadataLoaded(), { signal });
    this.#update();
  }

  disconnectedCallback() {
    this.#connection?.abort();
    this.video?.pause();
  }

  attributeChangedCallback() {
    this.#update();
  }

  #setRatio(width, height) {
    // Whole numbers only go into the stylesheet; anything else falls back to 16:9.
    const w = Number.isInteger(width) && width > 0 ? width : 16;
    const h = Number.isInteger(height) && height > 0 ? height : 9;
    this.#ratio.replaceSync(`:host { --w: ${w}; --h: ${h}; }`);
  }

  #update() {
    const video = this.video;
    if (!video) return;
    this.#setRatio(Number(this.getAttribute("width")), Number(this.getAttribute("height")));
    const label = this.getAttribute("label");
    if (label) video.setAttribute("aria-label", label);
    const src = this.getAttribute("src");
    if (src && video.getAttribute("src") !== src) {
      this.shadowRoot.querySelector(".error").hidden = true;
      video.src = src;
    }
  }

  #metadataLoaded() {
    // Trust the file over the record when they disagree (a re-encoded or rotated clip).
    const { videoWidth, videoHeight } = this.video;
    if (videoWidth && videoHeight) this.#setRatio(videoWidth, videoHeight);
  }

  #showError() {
    const error = this.shadowRoot.querySelector(".error");
    error.textContent = MEDIA_ERRORS[this.video.error?.code] ?? "The video could not be played.";
    error.hidden = false;
  }
}

customElements.define("video-player", VideoPlayer);
