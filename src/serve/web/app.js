// rayvid serve's page. Everything goes through the public API: GET /api/v3/models, the two-step
// upload, POST /api/v3/<model>, the prediction's event stream (Server-Sent Events) and the history.
"use strict";

const $ = (id) => document.getElementById(id);
let models = [];  // GET /api/v3/models: one entry per route

function headers(json = true) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  const key = $("api_key").value || localStorage.getItem("rayvid_api_key") || "";
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function api(method, path, body) {
  const response = await fetch(path, {method, headers: headers(), body: body && JSON.stringify(body)});
  const reply = await response.json().catch(() => ({message: response.statusText}));
  if (!response.ok) {
    if (response.status === 401) document.querySelector("details").open = true;
    throw new Error(reply.message || ("HTTP " + response.status));
  }
  return reply.data;
}

function setStatus(text, cls = "") {
  $("status").textContent = text;
  $("status").className = cls;
}

async function loadModels() {
  models = await api("GET", "/api/v3/models");
  const names = [...new Set(models.map((m) => m.name))];
  $("model").innerHTML = "";
  for (const name of names) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    $("model").appendChild(option);
  }
  $("server-info").textContent = names.length + " model(s): " + names.join(", ");
}

// The hosted API's upload: a ticket, then the bytes by PUT; the ticket's download_url is the image.
async function upload(file) {
  const ticket = await api("POST", "/api/v3/media/uploads",
                           {filename: file.name, size: file.size, content_type: file.type});
  const put = await fetch(ticket.upload.url, {method: "PUT", headers: ticket.upload.headers, body: file});
  if (!put.ok) {
    const reply = await put.json().catch(() => ({}));
    throw new Error("upload: " + (reply.message || put.statusText));
  }
  return ticket.download_url;
}

function describe(p) {
  const s = p.progress || {};
  if (p.status === "created") return "Waiting in the queue" + (s.queue_position ? " (position " + s.queue_position + ")" : "");
  if (p.status === "processing") {
    if (s.stage === "denoise" && s.total_steps)
      return `Denoising: step ${s.step}/${s.total_steps}, ETA ${Math.round(s.eta_seconds)} s`;
    return "Processing: " + (s.stage || "starting");
  }
  if (p.status === "completed") return `Done in ${(p.executionTime / 1000).toFixed(1)} s (seed ${p.input.seed})`;
  return p.status + ": " + p.error;
}

function watch(id) {
  const events = new EventSource(`/api/v3/predictions/${id}/events`);
  events.onmessage = (message) => {
    const p = JSON.parse(message.data);
    setStatus(describe(p), p.status);
    const s = p.progress || {};
    $("progress").value = p.status === "completed" ? 1 : (s.total_steps ? s.step / s.total_steps : 0);
    if (p.status === "completed") {
      $("result").src = p.outputs[0];
      $("result").hidden = false;
      $("result").play().catch(() => {});
    }
    if (["completed", "failed", "cancelled"].includes(p.status)) {
      events.close();
      $("submit").disabled = false;
      loadHistory();
    }
  };
  events.onerror = () => { if (events.readyState === EventSource.CLOSED) $("submit").disabled = false; };
}

async function submit(event) {
  event.preventDefault();
  $("submit").disabled = true;
  $("result").hidden = true;
  $("progress").value = 0;
  if ($("api_key").value) localStorage.setItem("rayvid_api_key", $("api_key").value);
  try {
    const body = {prompt: $("prompt").value, size: $("size").value,
                  resolution: $("resolution").value, duration: $("duration").value};
    for (const field of ["seed", "steps", "width", "height", "frames"])
      if ($(field).value !== "") body[field] = Number($(field).value);
    if ($("negative_prompt").value) body.negative_prompt = $("negative_prompt").value;
    const file = $("image").files[0];
    if (file) {
      setStatus("Uploading the image…");
      body.image = await upload(file);
    }
    const task = file ? "image-to-video" : "text-to-video";
    const route = models.find((m) => m.name === $("model").value && m.type === task);
    if (!route) throw new Error(`${$("model").value} has no ${task} route`);
    const p = await api("POST", "/api/v3/" + route.model_id, body);
    setStatus(describe(p), p.status);
    watch(p.id);
    loadHistory();
  } catch (error) {
    setStatus(error.message, "failed");
    $("submit").disabled = false;
  }
}

function cell(row, content) {
  const td = row.insertCell();
  if (content instanceof Node) td.appendChild(content); else td.textContent = content;
  return td;
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

async function loadHistory() {
  const data = await api("GET", "/api/v3/predictions?limit=20").catch(() => null);
  if (!data) return;
  const body = $("history").tBodies[0];
  body.innerHTML = "";
  for (const p of data.items) {
    const row = body.insertRow();
    cell(row, p.created_at.replace("T", " ").replace("Z", ""));
    cell(row, p.status).className = p.status;
    cell(row, p.input.prompt);
    const i = p.input;
    cell(row, [i.size, i.resolution, i.duration, i.width && `${i.width}x${i.height}`,
               i.frames && `${i.frames} frames`, i.steps && `${i.steps} steps`, `seed ${i.seed}`,
               i.image && "image"].filter(Boolean).join(", "));
    const files = document.createElement("span");
    if (p.status === "completed") {
      files.appendChild(link(p.outputs[0], "MP4"));
      files.appendChild(document.createTextNode(" "));
      files.appendChild(link(p.sidecar, "JSON"));
    } else if (p.error) {
      files.textContent = p.error;
    }
    cell(row, files);
  }
}

$("generate-form").addEventListener("submit", submit);
loadModels().then(loadHistory).catch((error) => setStatus(error.message, "failed"));
setInterval(loadHistory, 10000);
