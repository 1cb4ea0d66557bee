// The gallery's state in the URL (`/gallery?status=&q=`) and the listing call it becomes.

export const STATUSES = ["completed", "processing", "pending", "failed"];
export const PAGE_SIZE = 20;
export const MAX_QUERY_LENGTH = 500;

export function readGalleryQuery(search) {
  const params = new URLSearchParams(search);
  const status = params.get("status") ?? "";
  return {
    status: STATUSES.includes(status) ? status : "",
    q: (params.get("q") ?? "").trim().slice(0, MAX_QUERY_LENGTH),
  };
}

export function gallerySearch({ status = "", q = "" } = {}) {
  const params = new URLSearchParams();
  if (STATUSES.includes(status)) params.set("status", status);
  const text = q.trim().slice(0, MAX_QUERY_LENGTH);
  if (text) params.set("q", text);
  const search = params.toString();
  return search ? `?${search}` : "";
}

export function sameQuery(a, b) {
  return a.status === b.status && a.q === b.q;
}

// A page after the first is asked for with the previous page's `next_cursor` (keyset paging:
// no repeats or gaps while videos are added or deleted); the cursor is opaque, passed on as is.
export function listingParams({ status = "", q = "" } = {}, { cursor = null, limit = PAGE_SIZE } = {}) {
  const params = new URLSearchParams({ limit: String(limit) });
  const filters = new URLSearchParams(gallerySearch({ status, q }));
  for (const [key, value] of filters) params.set(key, value);
  if (cursor) params.set("cursor", cursor);
  return params;
}
