// The user's jobs (GET /sync/pro-jobs, newest first, a page at a time): status, when, how many
// segments, and a link to #job=<id>, which reopens the job in the panel (a reload keeps it open).
import { httpUrl } from "./config.js";
import { el } from "./dom.js";
import { explain } from "./messages.js";
import { Revise } from "./revise.js";

const $ = (sel) => document.querySelector(sel);
const PAGE = 10;

export class History {
  constructor(api) {
    this.api = api;
    this.cursor = null;
    this.revise = new Revise(api, () => this.load(false));  // "Edit and re-sync" on a completed job
    $("#history-more").addEventListener("click", () => this.load(true));
    $("#history-refresh").addEventListener("click", () => this.load(false));
    document.addEventListener("job-status", (e) => this.update(e.detail));
  }

  async load(more = false) {
    const list = $("#history-list");
    try {
      const page = await this.api.jobs(PAGE, more ? this.cursor : null);
      const rows = (page.jobs || []).map((job) => this.row(job));
      if (more) list.append(...rows); else list.replaceChildren(...rows);
      this.cursor = page.nextCursor || null;
      $("#history-more").hidden = !this.cursor;
      $("#history-empty").hidden = list.children.length > 0;
      $("#history-error").textContent = "";
    } catch (err) {
      $("#history-error").textContent = explain(err);
    }
  }

  // The shown job's row follows its status (its download link appears once completed).
  update(job) {
    const li = [...$("#history-list").children].find((node) => node.dataset.job === job.jobId);
    if (!li || li.dataset.status === job.status || !job.createdAt) return;
    li.replaceWith(this.row(job));
  }

  row(job) {
    const when = new Date(job.createdAt);
    const count = (job.segments || []).length;
    const label = `${job.outputFileName || "job"} · ${count} segment${count === 1 ? "" : "s"}`;
    const link = el("a", { href: `#job=${encodeURIComponent(job.jobId)}`, class: "open" }, label);
    const result = job.status === "completed" && httpUrl(job.resultUrl || "");  // only http(s)
    return el("li", { "data-job": job.jobId, "data-status": job.status },
      link,
      el("span", { class: `badge ${job.status}` }, job.status.replace("_", " ")),
      el("time", { datetime: when.toISOString(), class: "muted" }, when.toLocaleString()),
      ...this.parentOf(job),
      ...(result ? [el("a", { href: result.href, download: "", class: "download", "aria-label": `download ${label}` }, "download")] : []),
      ...this.reviseButton(job, label));
  }

  reviseButton(job, label) {
    if (!Revise.allowed(job)) return [];
    const button = el("button", { type: "button", class: "revise", "aria-label": `edit and re-sync ${label}` },
      "Edit and re-sync");
    button.addEventListener("click", () => this.revise.open(job.jobId));
    return [button];
  }

  // A revision (issue 17): a link to the job it revises, and Sync.so's seconds against a full re-run.
  parentOf(job) {
    if (!job.parentJobId) return [];
    const r = job.revision || {};
    const seconds = r.fullSeconds ? ` · ${r.revisionSeconds} of ${Number(r.fullSeconds).toFixed(1)} s re-rendered` : "";
    return [el("a", { href: `#job=${encodeURIComponent(job.parentJobId)}`, class: "muted parent" },
      `revision of ${job.parentJobId.slice(0, 8)}${seconds}`)];
  }
}
