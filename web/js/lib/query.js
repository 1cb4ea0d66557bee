// The gallery's state in the URL (`/gallery?status=&q=&sort=`) and the listing call it becomes.
// The URL says `sort=oldest` (newest first is the default and goes unsaid); the API's names
// for the two orders are created_at_desc and created_at_asc.

export const STATUSES = ["completed", "processing", "pending", "failed"];
export const SORTS = { newest: "created_at_desc", oldest: "created_at_asc" };
export const PAGE_SIZE = 20;
export const MAX_QUERY_LENGTH = 500;

export function readGalleryQuery(search) {
  const params = new URLSearchParams(search);
  const status = params.get("status") ?? "";
  return {
    status: STATUSES.includes(status) ? status : "",
    q: (params.get("q") ?? "").trim().slice(0, MAX_QUERY_LENGTH),
    sort: params.get("sort") === "oldest" ? "oldest" : "newest",
  };
}

export function gallerySearch({ status = "", q = "", sort = "newest" } = {}) {
  const params = new URLSearchParams();
  if (STATUSES.includes(status)) params.set("status", status);
  const text = q.trim().slice(0, MAX_QUERY_LENGTH);
  if (text) params.set("q", text);
  if (sort === "oldest") params.set("sort", "oldest");
  const search = params.toString();
  return search ? `?${search}` : "";
}

export function sameQuery(a, b) {
  return a.status === b.status && a.q === b.q && (a.sort ?? "newest") === (b.sort ?? "newest");
}

// A page after the first is asked for with the previous page's `next_cursor` (keyset paging:
// no repeats or gaps while videos are added or deleted); the cursor is opaque, passed on as is.
export function listingParams({ status = "", q = "", sort = "newest" } = {}, { cursor = null, limit = PAGE_SIZE } = {}) {
  const params = new URLSearchParams({ limit: String(limit) });
  const filters = new URLSearchParams(gallerySearch({ status, q }));
  for (const [key, value] of filters) params.set(key, value);
  if (sort === "oldest") params.set("sort", SORTS.oldest);
  if (cursor) params.set("cursor", cursor);
  return params;
}
