// The server's error answers as people read them: no internal codes, file types by the names people
// know, rows numbered as the page shows them (1-based), sizes in MiB.
import { AUDIO, VIDEO, mib } from "./rules.js";

const BY_STATUS = {
  0: "The service cannot be reached: check your connection and try again.",
  401: "Your access token is not accepted (missing, expired, or for another service).",
  403: "Lip-sync jobs need the Pro or Enterprise plan; this account is on the free plan.",
  404: "This job does not exist (or belongs to another account).",
  409: "This job has moved on and cannot be changed any more.",
  429: "Too many jobs at once for your plan: wait for one to finish, or cancel one.",
  503: "The service is busy; trying again in a moment is safe.",
};

// One message, made readable: segments[0] -> segment 1, byte counts -> MiB, type lists -> names.
export function humanize(msg, loc = []) {
  let text = String(msg || "")
    .replace(/segments\[(\d+)\]/g, (_, i) => `segment ${Number(i) + 1}`)
    .replace(/(\d{4,}) bytes/g, (_, n) => mib(Number(n)))
    .replace(/your plan allows (\d{4,})\b/g, (_, n) => `your plan allows ${mib(Number(n))}`);
  if (/use one of \[/.test(text) || /is not allowed/.test(text)) {
    text = loc.includes("video") ? `the video must be an ${VIDEO.label} file` : `audio files must be ${AUDIO.label}`;
  }
  return text;
}

// The sentence shown for an ApiError (or any Error) when no field takes it.
export function explain(err) {
  if (err && err.status !== undefined) {
    if (err.status === 422 || err.status === 413) return capital(humanize(err.text, []));
    if (err.status === 429 || err.status === 409 || err.status === 403) return capital(humanize(err.text, [])) || BY_STATUS[err.status];
    return BY_STATUS[err.status] || capital(humanize(err.text || err.message));
  }
  return capital(String((err && err.message) || err));
}

export function capital(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}
