// <video-player>: an HTML5 player whose box takes the video's own aspect ratio and fits the
// viewport (a 9:16 clip is as tall as the screen allows, a 16:9 one as wide), never cropped.
// With a storyboard, the frame under the pointer shows above the timeline, and a filmstrip
// under the player seeks where it is clicked (the keyboard's way to the same previews). Keys,
// anywhere on the page but never while typing in a field or with a modifier: k or space play
// and pause, j and l go 10 s back and forward, the arrows 5 s, f full screen, m sound, ? the list.
// The storyboard is fetched here, through lib/api.js, as the <video> fetches its src.
//
// Attributes: src (video URL), width and height (pixels, from the API), label (accessible name),
// storyboard (the item's storyboard_url; absent or empty: no seek previews).
// Properties: video (the inner <video>, read-only, for callers that need to control playback).

import * as api from "../lib/api.js";
import { formatDuration } from "../lib/format.js";
import { css, html, render } from "../lib/html.js";
import { keyAction, targetTakesKey } from "../lib/player-keys.js";
import { cueAt, filmstrip, parseStoryboard, tileBox } from "../lib/storyboard.js";
import { base } from "../lib/styles.js";
import "./key-help.js";
import "./storyboard-strip.js";

// The band at the foot of the video where Chromium, Firefox and Safari draw the timeline, and
// how far in from each side it starts: the seek preview follows the pointer there.
const TIMELINE_BAND = 40;
const TIMELINE_INSET = 16;
const PREVIEW_HEIGHT = 96;
const STRIP_TILES = 10;

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
  .box:fullscreen { width: 100%; height: 100%; border-radius: 0; aspect-ratio: auto; }
  video {
    display: block;
    width: 100%; height: 100%;
    object-fit: contain;
    background: var(--color-media-bg);
  }
  .seek-preview {
    position: absolute; left: 0;
    display: grid; justify-items: center; gap: var(--space-1);
    padding: 3px;
    border-radius: var(--radius-md);
    background: rgb(0 0 0 / 0.8); color: #fff;
    font-size: var(--text-sm); font-variant-numeric: tabular-nums;
    pointer-events: none;
  }
  .seek-preview .tile, .seek-preview img { border-radius: var(--radius-sm); }
  .tile { position: relative; overflow: hidden; }
  .tile img { position: absolute; top: 0; left: 0; max-width: none; transform-origin: 0 0; }
  .under { display: grid; gap: var(--space-1); margin-top: var(--space-3); }
  storyboard-strip { min-width: 0; }
  .keys { justify-self: end; }
  .keys { font-size: var(--text-sm); min-height: 2rem; padding: var(--space-1) var(--space-3); }
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

// The element that really has focus, inside open shadow roots, from a key event's path.
function keyTarget(event) {
  return event.composedPath()[0] ?? null;
}

class VideoPlayer extends HTMLElement {
  static observedAttributes = ["src", "width", "height", "label", "storyboard"];
  #ratio = new CSSStyleSheet();
  #connection = null;
  #cues = [];
  #storyboardUrl = "";
  #storyboardLoad = null;

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
        html`<div class="box">
            <video controls preload="metadata" playsinline></video>
            <div class="seek-preview" aria-hidden="true" hidden>
              <span class="tile"><img alt=""></span><span class="time"></span>
            </div>
          </div>
          <p class="error" role="alert" hidden></p>
          <div class="under">
            <storyboard-strip hidden></storyboard-strip>
            <button type="button" class="button quiet keys" aria-haspopup="dialog"
              aria-keyshortcuts="Shift+?">Keyboard shortcuts</button>
          </div>
          <p class="visually-hidden" role="status" id="said"></p>
          <key-help></key-help>`,
      );
    }
    this.#connection = new AbortController();
    const { signal } = this.#connection;
    const root = this.shadowRoot;
    const video = this.video;
    video.addEventListener("error", () => this.#showError(), { signal });
    video.addEventListener("loadedmetadata", () => this.#metadataLoaded(), { signal });
    video.addEventListener("timeupdate", () => {
      root.querySelector("storyboard-strip").current = video.currentTime;
    }, { signal });
    const box = root.querySelector(".box");
    box.addEventListener("pointermove", (event) => this.#pointed(event), { signal });
    box.addEventListener("pointerleave", () => this.#hidePreview(), { signal });
    root.querySelector("storyboard-strip").addEventListener(
      "seek",
      (event) => {
        event.stopPropagation();
        this.#seekTo(event.detail.time);
      },
      { signal },
    );
    root.querySelector(".keys").addEventListener(
      "click",
      () => {
        root.querySelector("key-help").open = true;
      },
      { signal },
    );
    document.addEventListener("keydown", (event) => this.#key(event), { signal });
    this.#update();
  }

  disconnectedCallback() {
    this.#connection?.abort();
    this.#storyboardLoad?.abort();
    this.#storyboardUrl = "";
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
    const storyboard = this.getAttribute("storyboard") ?? "";
    if (this.#connection && storyboard !== this.#storyboardUrl) this.#loadStoryboard(storyboard);
  }

  async #loadStoryboard(url) {
    this.#storyboardLoad?.abort();
    this.#storyboardUrl = url;
    this.#showStoryboard([]);
    if (!url) return;
    const load = new AbortController();
    this.#storyboardLoad = load;
    try {
      const text = await api.getStoryboard(url, { signal: load.signal });
      this.#showStoryboard(parseStoryboard(text, new URL(url, location.href).href));
    } catch {
      // No storyboard (none made yet, or it failed): the player works without previews.
    }
  }

  #showStoryboard(cues) {
    this.#cues = cues;
    const strip = this.shadowRoot.querySelector("storyboard-strip");
    strip.cues = filmstrip(cues, STRIP_TILES);
    strip.hidden = cues.length === 0;
    if (!cues.length) this.#hidePreview();
  }

  #duration() {
    const { duration } = this.video;
    if (Number.isFinite(duration) && duration > 0) return duration;
    return this.#cues.length ? this.#cues[this.#cues.length - 1].end : 0;
  }

  // The pointer over the timeline's band: the tile of the moment under it, above it.
  #pointed(event) {
    const box = this.shadowRoot.querySelector(".box");
    const rect = box.getBoundingClientRect();
    const duration = this.#duration();
    if (!this.#cues.length || !duration || event.clientY < rect.bottom - TIMELINE_BAND) {
      this.#hidePreview();
      return;
    }
    const span = Math.max(1, rect.width - 2 * TIMELINE_INSET);
    const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left - TIMELINE_INSET) / span));
    const time = fraction * duration;
    const cue = cueAt(this.#cues, time);
    if (!cue) return;
    const preview = this.shadowRoot.querySelector(".seek-preview");
    const size = tileBox(cue, Math.min(PREVIEW_HEIGHT, rect.height / 3));
    const tile = preview.querySelector(".tile");
    tile.style.width = `${size.width}px`;
    tile.style.height = `${size.height}px`;
    const img = preview.querySelector("img");
    if (img.getAttribute("src") !== cue.url) img.src = cue.url;
    img.style.transform = `scale(${size.scale}) translate(${-cue.x}px, ${-cue.y}px)`;
    preview.querySelector(".time").textContent = formatDuration(time);
    preview.dataset.time = String(Math.round(time * 1000) / 1000);
    preview.hidden = false;
    // Centred on the pointer, kept inside the box, standing on the timeline's band.
    const width = size.width + 6;
    const left = Math.min(rect.width - width - 4, Math.max(4, event.clientX - rect.left - width / 2));
    preview.style.transform = `translateX(${Math.round(left)}px)`;
    preview.style.bottom = `${TIMELINE_BAND + 4}px`;
  }

  #hidePreview() {
    const preview = this.shadowRoot.querySelector(".seek-preview");
    if (preview) preview.hidden = true;
  }

  #seekTo(time) {
    const video = this.video;
    const duration = this.#duration();
    video.currentTime = Math.max(0, duration ? Math.min(duration, time) : time);
  }

  #say(message) {
    this.shadowRoot.getElementById("said").textContent = message;
  }

  #key(event) {
    if (event.defaultPrevented || this.hidden || !this.video?.src) return;
    const action = keyAction(event);
    if (!action) return;
    const path = event.composedPath();
    // An open dialog (this list, a confirmation) has the keyboard to itself.
    if (path.some((node) => node.localName === "dialog")) return;
    if (targetTakesKey(keyTarget(event), event.key)) return;
    event.preventDefault();
    const video = this.video;
    switch (action.type) {
      case "toggle":
        if (video.paused) {
          video.play().catch(() => {});
          this.#say("Playing");
        } else {
          video.pause();
          this.#say("Paused");
        }
        break;
      case "seek":
        this.#seekTo(video.currentTime + action.by);
        this.#say(`${action.by < 0 ? "Back" : "Forward"} to ${formatDuration(video.currentTime)}`);
        break;
      case "mute":
        video.muted = !video.muted;
        this.#say(video.muted ? "Sound off" : "Sound on");
        break;
      case "fullscreen":
        if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
        else this.shadowRoot.querySelector(".box").requestFullscreen().catch(() => {});
        break;
      case "help":
        this.shadowRoot.querySelector("key-help").open = true;
        break;
      default:
        break;
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
