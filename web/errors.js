// Problems (the page's own or an API answer's details) shown once each, at the field they name: the
// element whose data-loc is the longest prefix of the problem's loc. Problems no field takes, and a
// count of those placed, go to the form's own line (#form-error, read out by screen readers).
import { capital, humanize } from "./messages.js";

export function clearProblems() {
  document.querySelectorAll("#job-form .invalid").forEach((node) => node.classList.remove("invalid"));
  document.querySelectorAll("#job-form [aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  document.querySelectorAll("#job-form .error").forEach((node) => { node.textContent = ""; });
}

// problems: [{loc, msg}]; form: the JobForm (refIds and shown positions); fromStart: the loc's segment
// positions are the job's stored (time) order, not the order shown.
export function showProblems(problems, form, { fromStart = false, fallback = "", focus = false } = {}) {
  clearProblems();
  const general = [];
  let placed = 0;
  for (const problem of problems) {
    const loc = placeOf(problem.loc || [], form, fromStart);
    const target = loc.length ? targetOf(loc) : null;
    const msg = capital(humanize(problem.msg, loc));
    if (!target) { if (!general.includes(msg)) general.push(msg); continue; }
    const slot = target.querySelector(":scope > .error") || target.querySelector(".error");
    if (!slot || slot.textContent) continue;  // one message per field
    slot.textContent = msg;
    target.classList.add("invalid");
    target.querySelectorAll("input, select").forEach((c) => c.setAttribute("aria-invalid", "true"));
    placed += 1;
  }
  if (!general.length && !placed && fallback) general.push(fallback);
  const count = placed ? `${placed === 1 ? "One field needs" : `${placed} fields need`} fixing (marked in red).` : "";
  document.querySelector("#form-error").textContent = [...general, count].filter(Boolean).join(" ");
  const first = document.querySelector("#job-form .invalid input, #job-form .invalid select");
  if (first && focus) first.focus();  // on submit only: never while the user types elsewhere
  return placed + general.length;
}

function placeOf(rawLoc, form, fromStart) {
  const loc = [...rawLoc];
  if (loc[0] === "body") loc.shift();
  if (loc[0] === "audios" && typeof loc[1] === "string") {  // the start step names audios by refId
    const i = form.audios.findIndex((a) => a.refId === loc[1]);
    if (i >= 0) loc[1] = i;
  }
  if (loc[0] === "segments" && typeof loc[1] === "number" && fromStart) loc[1] = form.shownIndex(loc[1]);
  return loc;
}

function targetOf(loc) {
  for (let n = loc.length; n > 0; n--) {
    const found = document.querySelector(`#job-form [data-loc="${CSS.escape(loc.slice(0, n).join("."))}"]`);
    if (found) return found;
  }
  return null;
}
