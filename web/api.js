// The ProSync HTTP API as the page uses it, and the presigned POST upload with progress.

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(`${status} ${code}: ${message}`);
    Object.assign(this, { status, code, details });
    this.text = message;
  }
}

export class Api {
  // base: ".../api/v1"; token(): the current bearer token
  constructor(base, token) {
    this.base = base.replace(/\/$/, "");
    this.token = token;
  }

  async call(method, path, body, headers = {}) {
    const init = { method, headers: { authorization: `Bearer ${this.token()}`, ...headers } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.base + path, init);
    } catch (err) {
      throw new ApiError(0, "network_error", `cannot reach the API at ${this.base} (${err.message})`);
    }
    const payload = await response.json().catch(() => ({}));
    if (!response.ok) {
      const e = payload.error;
      if (e) throw new ApiError(response.status, e.code, e.message, e.details || []);
      throw new ApiError(response.status, (payload.message || response.statusText || "error").toLowerCase(),
                         payload.message || response.statusText);
    }
    return payload;
  }

  limits() { return this.call("GET", "/sync/limits"); }
  create(request, idempotencyKey) {
    return this.call("POST", "/sync/pro-sync-process", request, { "idempotency-key": idempotencyKey });
  }
  edit(jobId, request) { return this.call("POST", `/sync/pro-job/${encodeURIComponent(jobId)}/edit`, request); }
  revise(jobId, request, idempotencyKey) {  // a completed job's revision (issue 17)
    return this.call("POST", `/sync/pro-job/${encodeURIComponent(jobId)}/revise`, request,
                     { "idempotency-key": idempotencyKey });
  }
  start(jobId) { return this.call("POST", `/sync/pro-job/${encodeURIComponent(jobId)}/start`); }
  jobs(limit, cursor) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    return this.call("GET", `/sync/pro-jobs?${query}`);
  }
  status(jobId) { return this.call("GET", `/sync/pro-job/${encodeURIComponent(jobId)}/status`); }
  cancel(jobId) { return this.call("POST", `/sync/pro-job/${encodeURIComponent(jobId)}/cancel`); }
}

// POST the file to S3 with the presigned fields, as an HTML form would; onProgress(sent, total).
export function upload(target, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(target.fields)) form.append(name, value);
    form.append("file", file);  // S3 wants the file last
    const xhr = new XMLHttpRequest();
    xhr.open("POST", target.url);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(file.size, file.size); resolve(); }
      else reject(new Error(`upload of ${file.name} refused (${xhr.status}): ${s3Message(xhr.responseText)}`));
    };
    xhr.onerror = () => reject(new Error(`upload of ${file.name} failed: network error or CORS refused`));
    xhr.send(form);
  });
}

function s3Message(xml) {
  const m = /<Message>([^<]*)<\/Message>/.exec(xml || "");
  return m ? m[1] : (xml || "").slice(0, 200);
}

// Only the local stack serves /dev/token (a token for a dev user of that tier).
export async function devToken(tier) {
  const response = await fetch(`/dev/token?tier=${encodeURIComponent(tier)}`).catch(() => null);
  return response && response.ok ? (await response.json()).token : null;
}
