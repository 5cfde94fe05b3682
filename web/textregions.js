// Burnt-in text removal (issue 16, docs/TEXT_REMOVAL.md): "detect text automatically" (auto) and
// rectangles drawn by a drag on the preview (pointer events), kept as fractions of the picture (x, y:
// top-left corner; the letterboxing taken off as speaker.js does), each optionally limited to
// [startTime, endTime] (empty: the whole video). Each is listed with its numbers as labelled inputs,
// so the keyboard can add and edit them too. A short drag stays a click (the speaker's); a real drag
// does not also set the speaker. The request carries textRemoval only when something was chosen.
import { el } from "./dom.js";

const $ = (sel) => document.querySelector(sel);
const round = (v) => Math.round(v * 10000) / 10000;
const clamp = (v) => Math.min(1, Math.max(0, v));
const num = (input) => (input.value.trim() === "" ? null : Number(input.value));
const g = (x) => String(Math.round(x * 1000) / 1000);
const EDGE = 1e-6, TOLERANCE = 0.05, MIN_DRAG_PX = 5;
const FIELDS = [["x", "x"], ["y", "y"], ["width", "width"], ["height", "height"],
  ["startTime", "start (s)"], ["endTime", "end (s)"]];

export class TextRegions {
  constructor(preview) {
    this.preview = preview;
    this.form = preview.form;
    this.video = preview.video;
    this.regions = [];  // [{x, y, width, height, startTime, endTime}] (times null: the whole video)
    this.form.textRemoval = this;
    this.layer = $("#text-layer");
    this.draft = null;
    this.video.addEventListener("pointerdown", (e) => this.down(e));
    this.video.addEventListener("pointermove", (e) => this.move(e));
    this.video.addEventListener("pointerup", (e) => this.up(e));
    this.video.addEventListener("pointercancel", () => this.cancel());
    $("#preview-stage").addEventListener("click", (e) => {  // capture: before the speaker's click
      if (this.swallow) { this.swallow = false; e.stopPropagation(); e.preventDefault(); }
    }, true);
    $("#text-auto").addEventListener("change", () => this.form.changed());
    $("#text-add").addEventListener("click", () => {
      this.add({ x: 0.1, y: 0.8, width: 0.8, height: 0.15 });
      $("#text-regions li:last-child input").focus();
    });
    this.video.addEventListener("loadedmetadata", () => this.place());
    if (window.ResizeObserver) new ResizeObserver(() => this.place()).observe(this.video);
    window.addEventListener("resize", () => this.place());
    this.render();
  }

  // The picture's box inside the <video> (object-fit: contain), as SpeakerPicker computes it.
  picture() { return this.preview.speaker.picture(); }

  fraction(e, pic) { return { x: (e.clientX - pic.left) / pic.width, y: (e.clientY - pic.top) / pic.height }; }

  down(e) {
    this.swallow = false;
    const pic = this.picture();
    if (e.button !== 0 || !pic) return;
    const at = this.fraction(e, pic);
    if (at.x < 0 || at.x > 1 || at.y < 0 || at.y > 1) return;  // on the bars
    this.drag = { from: at, to: at, px: [e.clientX, e.clientY], moved: false };
    this.video.setPointerCapture(e.pointerId);
  }

  move(e) {
    const pic = this.drag && this.picture();
    if (!pic) return;
    const to = this.fraction(e, pic);
    this.drag.to = { x: clamp(to.x), y: clamp(to.y) };
    this.drag.moved ||= Math.abs(e.clientX - this.drag.px[0]) >= MIN_DRAG_PX
      && Math.abs(e.clientY - this.drag.px[1]) >= MIN_DRAG_PX;
    this.showDraft(this.drag.moved ? this.rect(this.drag) : null);
  }

  up(e) {
    if (!this.drag) return;
    this.move(e);
    const { moved } = this.drag, rect = this.rect(this.drag);
    this.cancel();
    if (!moved || !(rect.width > 0 && rect.height > 0)) return;  // a click: the speaker's
    this.swallow = true;
    this.add(rect);
  }

  cancel() { this.drag = null; this.showDraft(null); }

  rect({ from, to }) {
    const x = round(Math.min(from.x, to.x)), y = round(Math.min(from.y, to.y));
    return { x, y, width: round(Math.min(Math.max(from.x, to.x), 1) - x), height: round(Math.min(Math.max(from.y, to.y), 1) - y) };
  }

  add(rect) {
    this.regions.push({ startTime: null, endTime: null, ...rect });
    this.render();
    $("#text-said").textContent = `Text region ${this.regions.length} added.`;
  }

  remove(region) {
    this.regions = this.regions.filter((r) => r !== region);
    this.render();
    $("#text-said").textContent = "Text region removed.";
  }

  // The list (numbers as labelled inputs) and the boxes; then the form is told.
  render() {
    $("#text-regions").replaceChildren(...this.regions.map((r, i) => this.item(r, i)));
    const max = this.form.maxTextRegions;
    $("#text-count").textContent = `(${this.regions.length}${max ? ` / ${max} max` : ""})`;
    this.boxes();
    this.form.changed();
  }

  item(region, i) {
    const at = `textRemoval.regions.${i}`;
    const inputs = FIELDS.map(([name, label]) => {
      const time = name.endsWith("Time");
      const input = el("input", { name, type: "number", step: time ? "0.01" : "0.001", min: "0",
        inputmode: "decimal", "aria-label": `text region ${i + 1} ${label}` });
      if (!time) input.max = "1";
      input.value = region[name] === null ? "" : String(region[name]);
      if (time) input.placeholder = "whole video";
      input.addEventListener("input", () => { region[name] = num(input); this.boxes(); this.form.changed(); });
      return el("label", { class: "field", "data-loc": `${at}.${name}` }, el("span", {}, label), input,
        el("small", { class: "error", "aria-live": "polite" }));
    });
    const remove = el("button", { type: "button", "aria-label": `remove text region ${i + 1}` }, "remove");
    remove.addEventListener("click", () => this.remove(region));
    return el("li", { "data-loc": at }, el("span", { class: "num" }, `Region ${i + 1}`), ...inputs, remove,
      el("small", { class: "error", "aria-live": "polite" }));
  }

  // The layer covers the picture (pixels, set again on resize); the boxes in it are percentages.
  place() {
    const pic = this.picture();
    this.layer.hidden = !pic;
    if (!pic) return;
    Object.assign(this.layer.style, { left: `${pic.left - pic.box.left}px`, top: `${pic.top - pic.box.top}px`,
      width: `${pic.width}px`, height: `${pic.height}px` });
  }

  box(r, cls, label = "") {
    const b = el("span", { class: cls }, label);
    const pc = (v) => `${(Number.isFinite(v) ? clamp(v) : 0) * 100}%`;
    Object.assign(b.style, { left: pc(r.x), top: pc(r.y), width: pc(r.width), height: pc(r.height) });
    return b;
  }

  boxes() {
    this.place();
    this.layer.replaceChildren(...this.regions.map((r, i) => this.box(r, "text-box", String(i + 1))),
      ...(this.draftRect ? [this.box(this.draftRect, "text-box draft")] : []));
  }

  showDraft(rect) { this.draftRect = rect; this.boxes(); }

  // The wire textRemoval, or null when nothing was chosen.
  request() {
    const auto = $("#text-auto").checked;
    if (!auto && !this.regions.length) return null;
    const regions = this.regions.map(({ startTime, endTime, ...r }) =>
      ({ ...r, ...(startTime !== null ? { startTime } : {}), ...(endTime !== null ? { endTime } : {}) }));
    return { ...(regions.length ? { regions } : {}), ...(auto ? { auto: true } : {}) };
  }
}

// The server's rules (prosync/textremoval/rules.py, at create and at start), on the wire object.
// x: the plan's limits; duration: the video's, when read. add(loc, msg) as in rules.js.
export function checkTextRemoval(config, x, duration, add) {
  if (!config) return;
  const loc = ["textRemoval"];
  const regions = config.regions || [];
  const max = x.maxTextRegions ?? 10;
  if (regions.length > max) {
    add([...loc, "regions"], `${regions.length} text regions given; your plan allows at most ${max}`);
    return;
  }
  regions.forEach((r, i) => {
    const at = (...rest) => [...loc, "regions", i, ...rest];
    if (![r.x, r.y, r.width, r.height].every((v) => v !== null && Number.isFinite(v))) {
      add(at(), "x, y, width and height must be finite numbers");
      return;
    }
    for (const name of ["x", "y"]) {
      if (!(r[name] >= 0 && r[name] <= 1)) add(at(name), `${name} must be within 0..1 (a fraction of the frame)`);
    }
    for (const name of ["width", "height"]) {
      if (!(r[name] > 0 && r[name] <= 1)) add(at(name), `${name} must be > 0 and at most 1 (a fraction of the frame)`);
    }
    if (r.x + r.width > 1 + EDGE) add(at("width"), "the region passes the frame's right edge (x + width > 1)");
    if (r.y + r.height > 1 + EDGE) add(at("height"), "the region passes the frame's bottom edge (y + height > 1)");
    const s = r.startTime ?? null, e = r.endTime ?? null;
    let bad = false;
    if (s !== null && !(Number.isFinite(s) && s >= 0)) { add(at("startTime"), "startTime must be >= 0"); bad = true; }
    if (e !== null && !(Number.isFinite(e) && e > 0)) { add(at("endTime"), "endTime must be greater than 0"); bad = true; }
    if (!bad && s !== null && e !== null && e <= s) add(at("endTime"), "endTime must be greater than startTime");
    for (const [name, value] of [["startTime", s], ["endTime", e]]) {
      if (duration && value !== null && value > duration + TOLERANCE) {
        add(at(name), `${name} is ${g(value)} s but the video is ${duration.toFixed(2)} s long`);
      }
    }
  });
}
