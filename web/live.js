// Live job events over the WebSocket API (issue 14): a job's every status, stage and progress change
// as it happens, each with its event id; a dropped socket is reopened and resumes after the last id
// seen, so nothing is missed or shown twice. The URL is index.html's `prosync-ws-url` tag (the local
// gateway fills it in) or, on a deployed stack, `wsUrl` of the auth-config.json served beside the page
// (a deploy-time value); without either, or when no socket opens at all, the caller polls instead.

import { deployedConfig } from "./auth.js";

const TERMINAL = ["completed", "failed", "canceled", "expired"];

function asSocketUrl(text) {
  try {
    const url = new URL(text || "");
    return url.protocol === "wss:" || url.protocol === "ws:" ? url : null;
  } catch {
    return null;
  }
}

export function liveUrl() {
  const tag = document.querySelector('meta[name="prosync-ws-url"]');
  const wsUrl = deployedConfig && typeof deployedConfig.wsUrl === "string" ? deployedConfig.wsUrl : "";
  return asSocketUrl(tag ? tag.content.trim() : "") || asSocketUrl(wsUrl);
}

// Resolves true when the job ended (its terminal event came), false when live events are unavailable
// (no URL, or the first socket never opened) or `stillWanted()` turned false; `onEvent(event)` in id order.
export function followLive(jobId, token, onEvent, stillWanted, { retries = 5 } = {}) {
  const base = liveUrl();
  if (!base || typeof WebSocket === "undefined") return Promise.resolve(false);
  let last = null;
  let opened = false;
  return new Promise((resolve) => {
    const connect = () => {
      const url = new URL(base);
      url.searchParams.set("token", token());  // API Gateway's $connect authorizer reads it there
      const socket = new WebSocket(url);
      socket.onopen = () => {
        opened = true;
        const request = { action: "subscribe", jobId };
        if (last !== null) request.after = last;
        socket.send(JSON.stringify(request));
      };
      socket.onmessage = (message) => {
        if (!stillWanted()) { socket.close(); resolve(false); return; }
        let event;
        try { event = JSON.parse(message.data); } catch { return; }
        if (event.type === "error") { socket.close(); resolve(false); return; }
        if (typeof event.id !== "number" || (last !== null && event.id <= last)) return;
        last = event.id;
        onEvent(event);
        if (TERMINAL.includes(event.status)) { socket.close(); resolve(true); }
      };
      socket.onclose = () => {
        if (!opened || retries <= 0 || !stillWanted()) { resolve(false); return; }
        retries -= 1;
        opened = false;
        setTimeout(connect, 500);
      };
    };
    connect();
  });
}
