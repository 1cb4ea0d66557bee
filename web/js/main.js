// The application: which page the URL asks for, who is signed in, and the messages between
// pages and the page-wide pieces (header, status region). Pages speak through events; this
// module listens and answers by navigating or by setting properties.

import * as api from "./lib/api.js";
import { announcement } from "./lib/generation-request.js";
import { LiveUpdates } from "./lib/live.js";
import { loadErrorMessage } from "./lib/messages.js";
import { Router } from "./lib/router.js";
import "./components/error-panel.js";
import "./components/live-announcer.js";
import "./components/site-header.js";
import "./components/status-message.js";
import "./pages/gallery-page.js";
import "./pages/login-page.js";
import "./pages/video-page.js";

const ROUTES = [
  { name: "home", path: "/" },
  { name: "login", path: "/login" },
  { name: "gallery", path: "/gallery" },
  { name: "video", path: "/gallery/:id" },
];

const TITLES = { login: "Sign in", gallery: "Your videos", video: "Video" };

const main = document.querySelector("main");
const header = document.querySelector("site-header");
const status = document.querySelector("status-message");
const announcer = document.querySelector("live-announcer");
// One event stream per tab while someone is signed in; pages subscribe to it (properties down).
const live = new LiveUpdates();
const lastStatus = new Map(); // generation id -> the status its last event carried

let account; // undefined: not asked yet; null: signed out
let galleryUrl = "/gallery";
let pendingMessage = null;
let showing = 0;

const router = new Router(ROUTES, show);

function say(message, tone = "success") {
  status.tone = tone;
  status.message = message;
}

function setAccount(value) {
  if (value?.id !== account?.id) {
    live.stop();
    lastStatus.clear();
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
live.addEventListener("deleted", ({ detail }) => lastStatus.delete(detail.generation_id));

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
      setAccount(await api.me());
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
    who = await whoIsSignedIn();
  } catch (error) {
    if (ticket === showing) showUnreachable(error, route);
    return;
  }
  if (ticket !== showing) return;
  if (route.name !== "login" && !who) {
    router.navigate(signInUrl(), { replace: true });
    return;
  }
  if (route.name === "login" && who) {
    router.navigate(safeNext(route.url) ?? "/gallery", { replace: true });
    return;
  }
  if (route.name === "not-found") {
    router.navigate("/gallery", { replace: true });
    return;
  }
  mount(route);
}

function mount({ name, params, url, cause }) {
  const current = main.firstElementChild;
  if (name === "gallery") {
    galleryUrl = `${url.pathname}${url.search}`;
    if (current?.localName === "gallery-page") {
      current.search = url.search; // same page, new filters: it updates in place
      return;
    }
  }
  let page;
  if (name === "gallery") {
    page = document.createElement("gallery-page");
    page.live = live;
    page.search = url.search;
  } else if (name === "video") {
    page = document.createElement("video-page");
    page.generationId = params.id;
    page.live = live;
    page.backUrl = galleryUrl;
  } else {
    page = document.createElement("login-page");
    page.next = safeNext(url) ?? "/gallery";
  }
  document.title = `${TITLES[name]} · reelvault`;
  main.replaceChildren(page);
  if (cause !== "initial") {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
}

function showUnreachable(error, route) {
  const panel = document.createElement("error-panel");
  panel.message = loadErrorMessage(error, "reelvault");
  panel.addEventListener("retry", () => show(route), { once: true });
  main.replaceChildren(panel);
}

document.addEventListener("navigate", (event) => {
  pendingMessage = event.detail.message ?? null;
  router.navigate(event.detail.url, { replace: Boolean(event.detail.replace) });
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

router.start();
