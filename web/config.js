// The page's configuration, which the operator sets in index.html's <meta> tags (README: "The page's
// configuration"): the API it talks to, and the other origins whose API may receive the user's token.
// A `?api=` link can only pick among those: anything else is ignored, so a crafted link can never
// send the token elsewhere.

const OWN_API = "/api/v1";

function meta(name) {
  const tag = document.querySelector(`meta[name="${name}"]`);
  return tag ? tag.content.trim() : "";
}

export function httpUrl(text) {
  try {
    const url = new URL(text, location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

// The page's own origin and those the operator listed in `prosync-api-origins`.
export function allowedApiOrigins() {
  const listed = meta("prosync-api-origins").split(/\s+/).filter(Boolean).map(httpUrl).filter(Boolean);
  return new Set([location.origin, ...listed.map((url) => url.origin)]);
}

// {base, notices}: the API base ("…/api/v1") from `?api=`, else the `prosync-api` tag, else the
// page's own /api/v1; each value naming an origin that is not allowed is skipped with a notice.
export function chooseApi(search = location.search) {
  const allowed = allowedApiOrigins();
  const notices = [];
  const candidates = [["The link's api parameter", new URLSearchParams(search).get("api")],
                      ["The page's prosync-api setting", meta("prosync-api")]];
  for (const [what, value] of candidates) {
    if (!value) continue;
    const url = httpUrl(value);
    if (url && allowed.has(url.origin)) {
      return { base: `${url.origin}${url.pathname}`.replace(/\/$/, ""), notices };
    }
    notices.push(`${what} (${value}) is ignored: this page only talks to its own API `
                 + "and to those its operator allows.");
  }
  return { base: `${location.origin}${OWN_API}`, notices };
}
