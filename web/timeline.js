// The timeline under the video preview (wavesurfer.js 7 + its regions plugin, vendored): the video's
// sound as a waveform driving the preview <video> itself, the segments as regions. Drag on empty
// waveform to draw a segment, drag a region to move it, drag its edges to resize it: every change
// is snapped to the video's frames and never overlaps another segment (it stops at its neighbours).
// The chosen segment's audio has its own waveform with one region, the crop, whose handles set
// the segment's crop start and end. The form stays the truth; this view follows it both ways.
import WaveSurfer from "./vendor/wavesurfer.js/wavesurfer.esm.js";
import RegionsPlugin from "./vendor/wavesurfer.js/plugins/regions.esm.js";
import { FALLBACK_FPS, peaksOf } from "./media.js";

const $ = (sel) => document.querySelector(sel);
const COLOR = "rgba(47, 111, 237, 0.28)", CHOSEN = "rgba(47, 111, 237, 0.5)", CROP = "rgba(46, 125, 50, 0.3)";
const style = { height: 64, waveColor: "#9aa6bd", progressColor: "#2f6fed", cursorColor: "#c62828", cursorWidth: 2 };

export class Timeline {
  constructor(form, video, chosen) {
    Object.assign(this, { form, video, chosen, ws: null, regions: null, crop: null, quiet: false });
    form.onChangeHooks = [...(form.onChangeHooks || []), () => this.follow()];
  }

  get fps() { return (this.form.video && this.form.video.fps) || FALLBACK_FPS; }
  snap(t) { return Math.round(Math.round(t * this.fps) / this.fps * 1000) / 1000; }

  async load(file) {
    if (this.ws) { this.ws.destroy(); this.ws = null; }
    if (!file) return;
    const duration = await metadataDuration(this.video);
    if (!duration) return;
    const peaks = await peaksOf(file, duration);
    this.regions = RegionsPlugin.create();
    this.ws = WaveSurfer.create({ container: "#timeline", media: this.video, peaks: [peaks], duration, ...style,
                                  plugins: [this.regions] });
    this.regions.enableDragSelection({ color: COLOR }, 3);
    this.regions.on("region-created", (r) => { if (!this.quiet) this.drawn(r); });
    this.regions.on("region-updated", (r) => this.moved(r));
    this.regions.on("region-clicked", (r, e) => { e.stopPropagation(); this.choose(r); });
    this.follow();
  }

  // The form's segments as regions (added, moved, removed, colour of the chosen one).
  follow() {
    if (!this.regions) return;
    this.quiet = true;
    const live = new Set();
    this.form.segments.forEach((seg, i) => {
      const valid = seg.start !== null && seg.end !== null && seg.end > seg.start;
      if (!valid) return;
      const color = seg === this.chosen() ? CHOSEN : COLOR;
      if (!seg.region || !this.regions.getRegions().includes(seg.region)) {
        seg.region = this.regions.addRegion({ start: seg.start, end: seg.end, color, content: String(i + 1) });
      } else if (seg.region.start !== seg.start || seg.region.end !== seg.end || seg.region.color !== color) {
        seg.region.setOptions({ start: seg.start, end: seg.end, color, content: String(i + 1) });
      }
      live.add(seg.region);
    });
    for (const r of this.regions.getRegions()) if (!live.has(r)) r.remove();
    this.quiet = false;
    this.followCrop();
  }

  // A region drawn by the mouse becomes a segment (or goes, if it has no room or the plan is full).
  drawn(region) {
    region.remove();
    this.add(region.start, region.end);
  }

  // A new segment of one second (or up to the next one) at `t`, by the N key.
  addAt(t) { this.add(t, t + 1); }

  add(start, end) {
    const range = this.fit(null, start, end, start);
    const full = this.form.maxSegments !== null && this.form.segments.length >= this.form.maxSegments;
    if (full) { say(`Your plan allows at most ${this.form.maxSegments} segments.`); return; }
    if (!range) { say("No room there: segments may touch, not overlap."); return; }
    const seg = this.form.addSegment({ startTime: range[0], endTime: range[1] });
    this.form.choose(this.form.segments.indexOf(seg));
    say(`Segment ${this.form.segments.indexOf(seg) + 1}: ${range[0]}–${range[1]} s.`);
  }

  moved(region) {
    const seg = this.form.segments.find((s) => s.region === region);
    if (!seg) return;
    const range = this.fit(seg, region.start, region.end, seg.start);
    if (!range) { this.quiet = true; region.setOptions({ start: seg.start, end: seg.end }); this.quiet = false; return; }
    this.form.setTimes(seg, { start: range[0], end: range[1] });
    this.form.choose(this.form.segments.indexOf(seg));
    say(`Segment ${this.form.segments.indexOf(seg) + 1}: ${range[0]}–${range[1]} s.`);
  }

  // [start, end] snapped to frames and kept between the neighbours of `from` (where it was or began),
  // or null when less than a frame is left.
  fit(seg, start, end, from) {
    let s = this.snap(start), e = this.snap(end);
    const others = this.form.segments.filter((o) => o !== seg && o.start !== null && o.end !== null && o.end > o.start);
    const before = Math.max(0, ...others.filter((o) => o.start < from + 1e-9 && o.end <= from + 1e-9).map((o) => o.end));
    const after = Math.min(this.ws ? this.ws.getDuration() : this.video.duration || Infinity, ...others.filter((o) => o.start >= from - 1e-9).map((o) => o.start));
    if (seg && e - s > after - before) return null;
    if (!seg) e = Math.min(e, after);
    if (s < before) { if (seg) e += before - s; s = before; }
    if (e > after) { if (seg) s -= e - after; e = after; }
    s = Math.max(s, before);
    return e - s >= 1 / this.fps - 1e-6 ? [this.snap(s), this.snap(e)] : null;
  }

  choose(region) {
    const i = this.form.segments.findIndex((s) => s.region === region);
    if (i >= 0) this.form.choose(i);
  }

  // The chosen segment's audio, with its crop as a resizable region.
  async followCrop() {
    const seg = this.chosen();
    const audio = seg && this.form.audios.find((a) => a.key === seg.audio);
    $("#crop").hidden = !audio;
    if (!audio) return;
    $("#crop-title").textContent = `Crop of audio ${audio.refId} for segment ${this.form.segments.indexOf(seg) + 1}`;
    if (!this.crop || this.crop.audio !== audio || this.crop.seg !== seg) await this.loadCrop(seg, audio);
    const r = this.crop.region;
    const start = seg.cropStart ?? 0, end = seg.cropEnd ?? this.crop.ws.getDuration();
    if (r && (r.start !== start || r.end !== end)) r.setOptions({ start, end });
  }

  async loadCrop(seg, audio) {
    if (this.crop) this.crop.ws.destroy();
    const regions = RegionsPlugin.create();
    const ws = WaveSurfer.create({ container: "#crop-wave", ...style, plugins: [regions] });
    this.crop = { seg, audio, ws, region: null };
    await ws.loadBlob(audio.file);
    const duration = ws.getDuration();
    const crop = this.crop;
    crop.region = regions.addRegion({ start: seg.cropStart ?? 0, end: seg.cropEnd ?? duration, color: CROP,
                                      drag: true, resize: true, content: "crop" });
    regions.on("region-updated", (r) => {
      const s = Math.max(0, Math.round(r.start * 1000) / 1000), e = Math.min(duration, Math.round(r.end * 1000) / 1000);
      const whole = s <= 0.001 && e >= duration - 0.001;
      this.form.setCrop(crop.seg, whole ? { start: null, end: null } : { start: s, end: e });
    });
  }
}

function say(text) { $("#preview-said").textContent = text; }  // read out (aria-live)

function metadataDuration(video) {
  if (video.readyState >= 1) return Promise.resolve(video.duration);
  return new Promise((resolve) => {
    video.addEventListener("loadedmetadata", () => resolve(video.duration), { once: true });
    video.addEventListener("error", () => resolve(null), { once: true });
  });
}
