// The chosen video in the page (from a blob: URL, nothing uploaded): a scrubber, the timecode
// (hh:mm:ss:ff at the video's frame rate) and the keys of an editor, on the preview area:
//   space play/pause · J back 1 s · K pause · L play (again: faster) · ←/→ one frame · N new segment
//   at the playhead · I/O set the chosen segment's start/end there (snapped to a frame) · Delete
//   remove the chosen segment.
// "Hear it" plays the chosen segment's audio (its crop) over the muted video before paying.
import { el } from "./dom.js";
import { FALLBACK_FPS, timecode } from "./media.js";
import { SpeakerPicker } from "./speaker.js";
import { TextRegions } from "./textregions.js";
import { Timeline } from "./timeline.js";

const $ = (sel) => document.querySelector(sel);

export class Preview {
  constructor(form) {
    this.form = form;
    this.url = null;
    this.video = $("#preview-video");
    this.audio = new Audio();
    this.scrub = $("#scrubber");
    this.video.addEventListener("timeupdate", () => this.tick());
    this.video.addEventListener("seeked", () => this.tick());
    this.video.addEventListener("loadedmetadata", () => { this.scrub.max = String(this.video.duration); this.tick(); });
    this.scrub.addEventListener("input", () => { this.video.currentTime = Number(this.scrub.value); });
    $("#preview").addEventListener("keydown", (e) => this.key(e));
    $("#play").addEventListener("click", () => this.toggle());
    $("#hear").addEventListener("click", () => this.hear());
    $("#hear-all").addEventListener("click", () => this.hearAll());
    $("#video-file").addEventListener("change", (e) => this.load(e.target.files[0] || null));
    $("#preview-segment").addEventListener("change", () => form.changed());
    form.onChangeHooks = [() => this.refreshSegments(), ...(form.onChangeHooks || [])];
    this.timeline = new Timeline(form, this.video, () => this.chosen());
    this.speaker = new SpeakerPicker(this);  // a click on a face (issue 17)
    this.text = new TextRegions(this);  // boxes drawn over burnt-in text (issue 16)
  }

  get fps() { return (this.form.video && this.form.video.fps) || FALLBACK_FPS; }

  load(file) {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = file ? URL.createObjectURL(file) : null;
    $("#preview").hidden = !file;
    if (file) this.video.src = this.url; else this.video.removeAttribute("src");
    this.timeline.load(file);
  }

  tick() {
    const t = this.video.currentTime;
    this.scrub.value = String(t);
    $("#timecode").textContent = timecode(t, this.fps);
    this.scrub.setAttribute("aria-valuetext", timecode(t, this.fps));
  }

  refreshSegments() {
    const select = $("#preview-segment"), chosen = select.value;
    select.replaceChildren(...this.form.segments.map((_, i) => el("option", { value: String(i) }, `segment ${i + 1}`)));
    if (chosen && Number(chosen) < this.form.segments.length) select.value = chosen;
  }

  chosen() { return this.form.segments[Number($("#preview-segment").value)] || null; }

  snap(t) { return Math.round(Math.round(t * this.fps) / this.fps * 1000) / 1000; }

  toggle() { if (this.video.paused) this.video.play(); else this.video.pause(); }

  step(frames) { this.video.pause(); this.video.currentTime = Math.max(0, this.snap(this.video.currentTime) + frames / this.fps); }

  key(e) {
    if (e.target.closest("select, button") && e.key === " ") return;  // their own space
    if (e.target.closest("#text-removal")) return;  // its inputs take their own keys
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const seg = this.chosen(), at = this.snap(this.video.currentTime);
    const actions = {
      " ": () => this.toggle(),
      j: () => { this.video.pause(); this.video.currentTime = Math.max(0, this.video.currentTime - 1); },
      k: () => this.video.pause(),
      l: () => { this.video.playbackRate = this.video.paused ? 1 : Math.min(4, this.video.playbackRate * 2); this.video.play(); },
      ArrowLeft: () => this.step(-1),
      ArrowRight: () => this.step(1),
      i: () => seg && this.form.setTimes(seg, { start: at }),
      o: () => seg && this.form.setTimes(seg, { end: at }),
      Delete: () => seg && seg.row.querySelector(".remove").click(),
      n: () => this.timeline.addAt(at),
    };
    if (!actions[k] || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target === this.scrub && k.startsWith("Arrow")) return;  // the slider's own arrows
    e.preventDefault();
    actions[k]();
    $("#preview-said").textContent = k === "i" || k === "o"
      ? `segment ${Number($("#preview-segment").value) + 1} ${k === "i" ? "starts" : "ends"} at ${timecode(at, this.fps)}` : "";
  }

  // The chosen segment: its audio (or crop) over the muted video, from its start to its end.
  async hear() {
    const seg = this.chosen();
    const audio = seg && this.form.audios.find((a) => a.key === seg.audio);
    if (!seg || !audio || seg.start === null || seg.end === null) {
      $("#preview-said").textContent = "Give the segment a start, an end and an audio first.";
      return;
    }
    this.use(audio);
    this.video.muted = true;
    this.video.currentTime = seg.start;
    this.audio.currentTime = seg.cropStart ?? 0;
    const stopAt = seg.end, audioEnd = seg.cropEnd;
    const stop = () => {
      if (this.video.currentTime >= stopAt || (audioEnd !== null && this.audio.currentTime >= audioEnd) || this.video.paused) {
        this.video.pause(); this.audio.pause(); this.video.muted = false;
        this.video.removeEventListener("timeupdate", stop);
      }
    };
    this.video.addEventListener("timeupdate", stop);
    await Promise.all([this.video.play(), this.audio.play()]).catch(() => stop());
  }

  use(audio) {  // the <audio> plays this track (from its own blob: URL)
    if (this.audio.dataset.key === String(audio.key)) return;
    if (this.audio.src) URL.revokeObjectURL(this.audio.src);
    this.audio.src = URL.createObjectURL(audio.file);
    this.audio.dataset.key = String(audio.key);
  }

  // The whole video, muted, with each segment's audio (or crop) playing over its range: the job as it
  // will sound, before paying for it.
  hearAll() {
    const preview = $("#preview");
    let playing = null;
    const follow = () => {
      const t = this.video.currentTime;
      const seg = this.form.segments.find((s) => s.start !== null && s.end > s.start && s.start <= t && t < s.end) || null;
      const audio = seg && this.form.audios.find((a) => a.key === seg.audio);
      const over = seg && seg.cropEnd !== null && this.audio.currentTime >= seg.cropEnd;
      if (seg !== playing || over || this.video.paused) {
        this.audio.pause();
        playing = over ? playing : seg;
        preview.dataset.hearing = audio && !over && !this.video.paused ? String(this.form.segments.indexOf(seg) + 1) : "";
        if (audio && !over && !this.video.paused && seg === playing) {
          this.use(audio);
          this.audio.currentTime = (seg.cropStart ?? 0) + (t - seg.start);
          this.audio.play().catch(() => {});
        }
      }
      if (this.video.paused || this.video.ended) {
        this.video.muted = false;
        this.video.removeEventListener("timeupdate", follow);
        this.video.removeEventListener("pause", follow);
      }
    };
    this.video.muted = true;
    this.video.currentTime = 0;
    this.video.addEventListener("timeupdate", follow);
    this.video.addEventListener("pause", follow);
    this.video.play().catch(follow);
  }
}
