// The job panel: one job at a time (a new job, or one reopened from the history or a #job=<id> link),
// its uploads with progress, its stages, a progress bar that never shows a failed or canceled job as
// full, a status line read out by screen readers, cancel (asked first), and the result player.
import { httpUrl } from "./config.js";
import { el } from "./dom.js";
import { capital, explain } from "./messages.js";
import { followLive } from "./live.js";

const $ = (sel) => document.querySelector(sel);
const STAGES = ["awaiting_upload", "queued", "submitting", "processing", "downloading", "completed"];
// a job that asked for text removal (issue 16) has one more stage before completed
const TEXT_STAGES = [...STAGES.slice(0, -1), "removing_text", "completed"];
const PROGRESS = { awaiting_upload: 0, queued: 10, submitting: 20, processing: 40, downloading: 90, removing_text: 92,
                   completed: 100 };
const LABEL = { awaiting_upload: "waiting for uploads", queued: "queued", submitting: "submitting",
                processing: "lip-syncing", downloading: "fetching the result", removing_text: "removing burnt-in text",
                completed: "completed",
                failed: "failed", canceled: "canceled", expired: "expired" };
export const ENDED = ["completed", "failed", "canceled", "expired"];

export class JobView {
  constructor(api, { pollMs = 1000, onEnd = () => {} } = {}) {
    Object.assign(this, { api, pollMs, onEnd, jobId: null, generation: 0 });
    $("#cancel").addEventListener("click", () => this.askCancel(true));
    $("#cancel-no").addEventListener("click", () => this.askCancel(false));
    $("#cancel-yes").addEventListener("click", () => this.cancel());
  }

  // Show the panel for a job; `status` (optional) is an answer already in hand.
  show(jobId, status = null) {
    if (jobId !== this.jobId) {
      this.generation += 1;
      this.jobId = jobId;
      $("#uploads").replaceChildren();
      $("#result").hidden = true;
      $("#result-video").removeAttribute("src");
      $("#job-error").textContent = "";
    }
    $("#job").hidden = false;
    $("#job-id").textContent = jobId;
    if (status) this.render(status);
  }

  uploadRow(label) {
    const bar = el("progress", { max: "100", value: "0", "aria-label": `upload of ${label}` });
    const percent = el("span", { class: "pct" }, "0%");
    $("#uploads").append(el("div", { class: "upload" }, el("span", { class: "name" }, label), bar, percent));
    return (sent, total) => {
      const pct = total ? Math.round((100 * sent) / total) : 100;
      bar.value = pct;
      percent.textContent = `${pct}%`;
    };
  }

  error(err) { $("#job-error").textContent = err ? explain(err) : ""; }

  render(s) {
    const names = s.textRemoval ? TEXT_STAGES : STAGES;
    const at = names.indexOf(s.status);
    const reached = new Set((s.history || []).map((h) => h.toStatus));
    const stages = names.map((name, i) => {
      const done = i < at || s.status === "completed" || (at < 0 && reached.has(name));
      return el("li", { class: done ? "done" : i === at ? "current" : "", "data-status": name }, LABEL[name]);
    });
    if (at < 0) stages.push(el("li", { class: "bad", "data-status": s.status }, LABEL[s.status] || s.status));
    $("#stages").replaceChildren(...stages);
    // how far it got: an ended job's bar stays where it stopped (the server says 100 for any end)
    const progress = at >= 0 ? (s.status === "removing_text" ? s.progress ?? PROGRESS[s.status] : PROGRESS[s.status])
      : Math.max(0, ...[...reached].map((r) => PROGRESS[r] ?? 0));
    const bar = $("#job-progress");
    bar.value = progress;
    bar.classList.toggle("ended", at < 0);
    bar.setAttribute("aria-valuetext", `${progress}%, ${LABEL[s.status] || s.status}`);
    $("#job-status").textContent = `${capital(LABEL[s.status] || s.status)} · ${progress}%` +
      (s.syncGenerationId ? ` · generation ${s.syncGenerationId}` : "");
    $("#job").dataset.status = s.status;
    document.dispatchEvent(new CustomEvent("job-status", { detail: s }));  // the history follows
    const open = !ENDED.includes(s.status);
    $("#cancel").hidden = !open;
    if (!open) this.askCancel(false);
    if (s.status === "completed") this.showResult(httpUrl(s.resultUrl || ""));
    if (["failed", "canceled", "expired"].includes(s.status)) {
      $("#job-error").textContent = s.error ? capital(s.error.message) : `This job ${LABEL[s.status]}.`;
    }
  }

  showResult(url) {  // only an http(s) URL: never a javascript: link
    if (!url) { $("#job-error").textContent = "The job completed but its result is missing."; return; }
    const video = $("#result-video");
    const src = `${url.href.split("#")[0]}#t=0.1`;  // a first frame, not black at 0:00
    if (video.getAttribute("src") !== src) video.src = src;
    $("#result-link").href = url.href;
    $("#result").hidden = false;
  }

  // Follow the shown job until it ends (or another job is shown).
  async follow() {
    const mine = ++this.generation;
    const jobId = this.jobId;
    if (await this.followLive(mine, jobId)) return;  // the WebSocket API; else (or when it drops) poll
    for (;;) {
      let s;
      try { s = await this.api.status(jobId); } catch (err) {
        if (mine !== this.generation) return;
        this.error(err);
        if (err.status === 404 || err.status === 401) return;
        await sleep(this.pollMs * 3);
        continue;
      }
      if (mine !== this.generation) return;
      this.render(s);
      if (ENDED.includes(s.status) || s.status === "awaiting_upload") { this.onEnd(s); return; }
      await sleep(this.pollMs);
    }
  }

  // Every event as it happens (status, stage, progress), then the full status once it ended.
  async followLive(mine, jobId) {
    let shown;
    try { shown = await this.api.status(jobId); } catch { return false; }  // the poll says why
    if (mine !== this.generation) return true;
    this.render(shown);
    if (ENDED.includes(shown.status) || shown.status === "awaiting_upload") { this.onEnd(shown); return true; }
    const ended = await followLive(jobId, this.api.token, (e) => {
      shown = { ...shown, status: e.status, stage: e.stage, progress: e.progress,
                history: [...(shown.history || []), { toStatus: e.status }] };
      if (mine === this.generation && !ENDED.includes(e.status)) this.render(shown);
    }, () => mine === this.generation);
    if (!ended || mine !== this.generation) return false;
    try {
      const s = await this.api.status(jobId);
      if (mine !== this.generation) return true;
      this.render(s);
      this.onEnd(s);
      return true;
    } catch {
      return false;  // the poll shows it (and its error)
    }
  }

  askCancel(asking) {
    $("#cancel-confirm").hidden = !asking;
    $("#cancel").setAttribute("aria-expanded", String(asking));
    if (asking) $("#cancel-no").focus();
  }

  async cancel() {
    const jobId = this.jobId;
    $("#cancel-yes").disabled = true;
    try {
      const s = await this.api.cancel(jobId);
      if (jobId === this.jobId) { this.render(s); this.onEnd(s); }
    } catch (err) {
      this.error(err);
    } finally {
      $("#cancel-yes").disabled = false;
      this.askCancel(false);
    }
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
