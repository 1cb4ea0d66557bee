// The application: which page the URL asks for, who is signed in, and the messages between
// pages and the page-wide pieces (header, status region). Pages speak through events; this
// module listens and answers by navigating or by setting properties.

import * as api from "./lib/api.js";
import { forgetFirstView, takeListing, takeMe } from "./lib/first-view.js";
import { extendPlace, readPlace, writePlace } from "./lib/gallery-place.js";
import { announcement } from "./lib/generation-request.js";
import { LiveUpdates } from "./lib/live.js";
import { loadErrorMessage } from "./lib/messages.js";
import { Router } from "./lib/router.js";
import { UploadQueue } from "./lib/upload-queue.js";
import "./components/error-panel.js";
import "./components/live-announcer.js";
import "./components/site-header.js";
import "./components/status-message.js";
import "./components/upload-queue.js";
import "./pages/gallery-page.js";

// The gallery's page is part of the start-up (index.html preloads its modules); the others load
// when first shown, and in the background once the first view is up.
const PAGES = {
  login: () => import("./pages/login-page.js"),
  video: () => import("./pages/video-page.js"),
  "not-found": () => import("./pages/not-found-page.js"),
};

const ROUTES = [
  { name: "home", path: "/" },
  { name: "login", path: "/login" },
  { name: "gallery", path: "/gallery" },
  { name: "video", path: "/gallery/:id" },
];

const TITLES = { login: "Sign in", gallery: "Your videos", video: "Video", "not-found": "Page not found" };

const main = document.querySelector("main");
const header = document.querySelector("site-header");
const status = document.querySelector("status-message");
const announcer = document.querySelector("live-announcer");
// One event stream per tab while someone is signed in; pages subscribe to it (properties down).
const live = new LiveUpdates();
const lastStatus = new Map(); // generation id -> the status its last event carried
// The tab's imports, above the pages: moving around the app never stops one.
const uploads = new UploadQueue();
const uploadPanel = document.body.appendChild(document.createElement("upload-queue"));
uploadPanel.hidden = true;

let account; // undefined: not asked yet; null: signed out
let galleryUrl = "/gallery";
let pendingMessage = null;
let showing = 0;
// The gallery as the person left it for a video (see lib/gallery-place.js); Back restores it.
let place = readPlace();

// Scrolling is ours to restore: the browser's own would act before the restored cards exist.
history.scrollRestoration = "manual";

const router = new Router(ROUTES, show);

function say(message, tone = "success") {
  status.tone = tone;
  status.message = message;
}

function setAccount(value) {
  if (value?.id !== account?.id) {
    live.stop();
    lastStatus.clear();
    // One person's uploads never go on under another's session, nor after signing out.
    if (account) uploads.cancelAll();
  }
  // Someone else's gallery is no place to go back to (unknown at start-up: kept).
  if (account !== undefined && value?.id !== account?.id) {
    place = null;
    writePlace(null);
  }
  account = value;
  header.email = value?.email ?? "";
  if (value) live.start();
}

// Screen readers hear when one of the person's generations completes or fails, whichever page
// is open.
live.addEventListener("generation", ({ detail: item }) => {
  const message = announcement(lastStatus.get(item.id), item);
  lastStatus.set(item.id, item.status);
  if (message) announcer.say(message);
});
live.addEventListener("deleted", ({ detail }) => {
  lastStatus.delete(detail.generation_id);
  // A deleted video leaves the place to go back to as well.
  if (place?.items.some((item) => item.id === detail.generation_id)) {
    const items = place.items.filter((item) => item.id !== detail.generation_id);
    place = { ...place, items, total: Math.max(0, place.total - 1) };
    writePlace(place);
  }
});

// A stream refused for good may mean the session has ended: ask once, and sign in again if so.
live.addEventListener("closed", async () => {
  try {
    await api.me();
  } catch (error) {
    if (error?.status === 401 && account) document.dispatchEvent(new CustomEvent("require-sign-in"));
  }
});

async function whoIsSignedIn() {
  if (account === undefined) {
    try {
      setAccount(await (takeMe() ?? api.me()));
    } catch (error) {
      if (error?.status !== 401) throw error;
      setAccount(null);
    }
  }
  return account;
}

// Only same-site paths are followed after sign-in, never another origin.
function safeNext(url) {
  const next = url.searchParams.get("next");
  if (!next || !next.startsWith("/") || next.startsWith("//")) return null;
  return router.handles(new URL(next, location.origin)) ? next : null;
}

function signInUrl() {
  const here = `${location.pathname}${location.search}`;
  return here.startsWith("/login") || here === "/" ? "/login" : `/login?next=${encodeURIComponent(here)}`;
}

async function show(route) {
  const ticket = ++showing;
  const message = pendingMessage;
  pendingMessage = null;
  if (route.cause !== "replace" || message) say(message ?? "");

  if (route.name === "home") {
    router.navigate("/gallery", { replace: true });
    return;
  }
  let who;
  try {
    [who] = await Promise.all([whoIsSignedIn(), PAGES[route.name]?.()]);
  } catch (error) {
    if (ticket === showing) showUnreachable(error, route);
    return;
  }
  if (ticket !== showing) return;
  if (route.name !== "login" && route.name !== "not-found" && !who) {
    router.navigate(signInUrl(), { replace: true });
    return;
  }
  if (route.name === "login" && who) {
    router.navigate(safeNext(route.url) ?? "/gallery", { replace: true });
    return;
  }
  mount(route);
}

function keepPlace(current, name) {
  if (current?.localName !== "gallery-page" || name === "gallery") return;
  const snapshot = current.snapshot();
  place = snapshot ? { ...snapshot, url: galleryUrl, scrollY: window.scrollY } : null;
  writePlace(place);
}

function mount({ name, params, url, cause }) {
  const current = main.firstElementChild;
  keepPlace(current, name);
  if (name === "gallery") {
    galleryUrl = `${url.pathname}${url.search}`;
    if (current?.localName === "gallery-page") {
      current.search = url.search; // same page, new filters: it updates in place
      return;
    }
  }
  let page;
  let restored = null;
  if (name === "gallery") {
    page = document.createElement("gallery-page");
    page.live = live;
    page.search = url.search;
    page.firstPage = takeListing(url.search);
    if (cause === "pop" && place?.url === galleryUrl) restored = place;
    page.restore = restored;
  } else if (name === "video") {
    page = document.createElement("video-page");
    page.generationId = params.id;
    page.live = live;
    page.backUrl = galleryUrl;
    // This entry was opened from the gallery: its Back link may then be the browser's Back.
    if (current?.localName === "gallery-page" && cause === "push") {
      history.replaceState({ fromGallery: galleryUrl }, "");
    }
    if (place?.items.some((item) => item.id === params.id)) {
      place = { ...place, focusId: params.id };
      writePlace(place);
      page.sequence = place;
    }
  } else if (name === "not-found") {
    page = document.createElement("not-found-page");
  } else {
    page = document.createElement("login-page");
    page.next = safeNext(url) ?? "/gallery";
  }
  document.title = `${TITLES[name]} · reelvault`;
  forgetFirstView();
  main.replaceChildren(page);
  if (restored) {
    window.scrollTo(0, restored.scrollY ?? 0);
    if (!restored.focusId || !page.focusCard(restored.focusId)) main.focus({ preventScroll: true });
  } else if (cause !== "initial") {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
  if (cause === "initial") setTimeout(loadOtherPages, 0);
}

function loadOtherPages() {
  for (const load of Object.values(PAGES)) load().catch(() => {}); // a failure shows when used
}

function showUnreachable(error, route) {
  const panel = document.createElement("error-panel");
  panel.message = loadErrorMessage(error, "reelvault");
  panel.addEventListener("retry", () => show(route), { once: true });
  main.replaceChildren(panel);
}

document.addEventListener("navigate", (event) => {
  pendingMessage = event.detail.message ?? null;
  // "Back to your videos" from a video opened in the gallery is the browser's Back: the
  // gallery's entry holds the place to restore.
  if (event.detail.back && history.state?.fromGallery === event.detail.url) {
    history.back();
    return;
  }
  const replace = Boolean(event.detail.replace);
  // A replaced entry keeps what it knew (previous/next keep the way back to the gallery).
  router.navigate(event.detail.url, { replace, state: replace ? history.state : null });
});

// A page names what it shows (the video's prompt, say).
document.addEventListener("retitle", (event) => {
  document.title = `${event.detail.title} · reelvault`;
});

// The video page walked past the loaded cards: the next page of the listing joins the place.
document.addEventListener("extend-gallery", (event) => {
  if (!place || place.url !== event.detail.url) return;
  place = extendPlace(place, event.detail.page);
  writePlace(place);
  const current = main.firstElementChild;
  if (current?.localName === "video-page") current.sequence = place;
});

document.addEventListener("announce", (event) => say(event.detail.message, event.detail.tone));

document.addEventListener("sign-in", (event) => {
  setAccount(event.detail.account);
  pendingMessage = event.detail.registered ? "Your account is ready." : null;
  router.navigate(event.detail.next || "/gallery", { replace: true });
});

document.addEventListener("require-sign-in", () => {
  setAccount(null);
  pendingMessage = null;
  router.navigate(signInUrl(), { replace: true });
  say("Your session has ended. Sign in again to continue.", "info");
});

document.addEventListener("sign-out", async () => {
  try {
    await api.logout();
  } catch (error) {
    if (error?.status !== 401) {
      say("Signing out failed: the server could not be reached. Try again.", "error");
      return;
    }
  }
  setAccount(null);
  pendingMessage = "You have signed out.";
  router.navigate("/login");
});

uploads.addEventListener("change", () => {
  uploadPanel.entries = uploads.entries;
});
uploads.addEventListener("imported", ({ detail: { entry } }) => {
  announcer.say(`Video imported: ${entry.prompt}`);
  const page = main.firstElementChild;
  if (page?.localName === "gallery-page") page.showImported(entry.item);
});
uploads.addEventListener("failed", ({ detail: { entry } }) =>
  announcer.say(`${entry.name} could not be imported: ${entry.message}`),
);
uploads.addEventListener("cancelled", ({ detail: { entry } }) => announcer.say(`Upload of ${entry.name} cancelled`));
uploads.addEventListener("unauthorized", () => document.dispatchEvent(new CustomEvent("require-sign-in")));
document.addEventListener("import-videos", (event) => uploads.add(event.detail.files));
uploadPanel.addEventListener("cancel-upload", (event) => uploads.cancel(event.detail.id));
// A panel that empties hides: focus goes to the page rather than nowhere.
function keepingFocus(change) {
  const focused = uploadPanel.matches(":focus-within");
  change();
  if (focused && uploadPanel.hidden) main.focus({ preventScroll: true });
}
uploadPanel.addEventListener("dismiss-upload", (event) => keepingFocus(() => uploads.dismiss(event.detail.id)));
uploadPanel.addEventListener("clear-uploads", () => keepingFocus(() => uploads.clearFinished()));

// Closing or reloading the tab would stop the uploads: the browser asks first.
window.addEventListener("beforeunload", (event) => {
  if (!uploads.busy) return;
  event.preventDefault();
  event.returnValue = "";
});
// A file dropped where no page takes it would replace the app (and its uploads) with the file.
for (const type of ["dragover", "drop"]) {
  window.addEventListener(type, (event) => {
    if (event.defaultPrevented || !event.dataTransfer?.types?.includes("Files")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "none";
  });
}


router.start();
