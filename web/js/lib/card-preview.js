// A card's preview: while the card is pointed at or has keyboard focus, its video plays muted
// in place of the thumbnail. One card at a time in the whole tab; never where the person asked
// for less motion, never on a device that cannot hover (touch only: a tap there opens the
// video). The <video> exists only while it plays, so a grid of cards holds no media at rest.

export const PREVIEW_DELAY_MS = 250; // pointing across the grid starts nothing

const HOVER = "(hover: hover)";
const CALM = "(prefers-reduced-motion: reduce)";

export function previewAllowed(matches = (query) => matchMedia(query).matches) {
  return matches(HOVER) && !matches(CALM);
}

let playing = null; // the CardPreview whose video plays now

export class CardPreview {
  #frame;
  #before;
  #source;
  #timer = null;
  #video = null;

  // frame: where the video goes (before `before`, so badges stay on top); source(): the
  // versioned video URL to play, or null where there is nothing to play.
  constructor(frame, before, source) {
    this.#frame = frame;
    this.#before = before;
    this.#source = source;
  }

  attach(target, signal) {
    const soon = () => this.#soon();
    target.addEventListener("pointerenter", (event) => event.pointerType !== "touch" && soon(), { signal });
    target.addEventListener("pointerleave", () => this.stop(), { signal });
    target.addEventListener("focusin", soon, { signal });
    target.addEventListener("focusout", () => this.stop(), { signal });
    signal.addEventListener("abort", () => this.stop(), { once: true });
  }

  get playing() {
    return this.#video !== null;
  }

  stop() {
    clearTimeout(this.#timer);
    this.#timer = null;
    if (playing === this) playing = null;
    const video = this.#video;
    if (!video) return;
    this.#video = null;
    video.pause();
    // Let go of the connection and the decoder, not only of the element.
    video.removeAttribute("src");
    video.load();
    video.remove();
  }

  #soon() {
    if (this.#video || !previewAllowed() || !this.#source()) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#start(), PREVIEW_DELAY_MS);
  }

  #start() {
    this.#timer = null;
    const src = this.#source();
    if (!src || !this.#frame.isConnected) return;
    if (playing && playing !== this) playing.stop();
    playing = this;
    const video = document.createElement("video");
    video.className = "preview";
    video.muted = true;
    video.defaultMuted = true;
    video.loop = true;
    video.playsInline = true;
    video.preload = "auto";
    video.disablePictureInPicture = true;
    video.setAttribute("aria-hidden", "true");
    // Shown once it really plays, so the thumbnail never gives way to a black frame.
    video.addEventListener("playing", () => video.classList.add("shown"), { once: true });
    video.src = src;
    this.#frame.insertBefore(video, this.#before);
    this.#video = video;
    video.play().catch(() => {
      // Autoplay refused or the file failed: the thumbnail simply stays.
      if (this.#video === video) this.stop();
    });
  }
}
