// What the first view needs, asked for as soon as this small module runs: index.html loads it
// with `async`, ahead of the rest of the app, whose thirty-odd modules take a while to arrive.
// `me` always, and on a gallery address its first page, then that page's first screen of
// thumbnails (into the HTTP cache, where the cards find them). main.js takes each answer once.

import * as api from "./api.js";
import { PAGE_SIZE, readGalleryQuery } from "./query.js";

const FIRST_SCREEN = 12; // thumbnails a 1440 x 900 window shows (two rows of up to six)

function warmThumbnails(page) {
  for (const item of page.generations.slice(0, FIRST_SCREEN)) {
    if (!item.thumbnail_url) continue;
    const image = new Image();
    image.src = item.thumbnail_url;
  }
}

function isGalleryAddress(path) {
  return path === "/" || path === "/gallery" || path === "/gallery/";
}

let me = api.me();
me.catch(() => {}); // a signed-out person's 401 is read by whoever takes it

let listing = null;
if (isGalleryAddress(location.pathname)) {
  const search = location.pathname === "/" ? "" : location.search;
  const promise = api.listGenerations(readGalleryQuery(search), { limit: PAGE_SIZE });
  promise.then(warmThumbnails, () => {});
  listing = { search, promise };
}

// The early `me`, once (null afterwards: ask again).
export function takeMe() {
  const taken = me;
  me = null;
  return taken;
}

// What the first view did not take is stale for any later one (asked for before a sign-in, say).
export function forgetFirstView() {
  me = null;
  listing = null;
}

// The early first page for `search` (the URL's query string), once; null when there is none.
export function takeListing(search) {
  if (!listing || listing.search !== search) return null;
  const { promise } = listing;
  listing = null;
  return promise;
}
