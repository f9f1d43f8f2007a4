// The observer page: one server-sent event stream for the node's trees, tables, reports and history; the process
// list is filtered and sorted on the server, so it stays fast with a hundred thousand processes.
"use strict";

const state = { filter: "", sort: "pid", desc: false, allowKill: false, selected: null, owners: new Map(), listStale: false, latestReport: null };

// Each change of a table's owner seen on the page, newest first: the worker's crash, the heir taking the table, the
// hand-off to the replacement.
function recordMoves(tables) {
  const moves = document.getElementById("moves");
  for (const t of tables) {
    const owner = t.owner ?? "node";
    const before = state.owners.get(t.name);
    if (before !== undefined && before !== owner) {
      moves.prepend(el("li", { "data-at": String(Date.now()), "data-table": t.name, "data-owner": owner },
        `${new Date().toLocaleTimeString()} ${t.name}: ${before} → ${owner}`));
      while (moves.children.length > 50) moves.lastChild.remove();
    }
    state.owners.set(t.name, owner);
  }
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value; else if (key.startsWith("on")) node.addEventListener(key.slice(2), value); else node.setAttribute(key, value);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

function select(pid) {
  state.selected = pid;
  const filter = document.getElementById("filter");
  filter.value = pid;
  state.filter = pid;
  loadProcesses();
  document.querySelectorAll(".node").forEach(n => n.classList.toggle("selected", n.dataset.pid === pid));
}

function renderTree(node) {
  const label = node.supervisor
    ? [el("span", { class: "sup" }, node.id ?? node.name ?? "supervisor"), " ", el("span", { class: "pid" }, node.pid),
       el("span", { class: "muted" }, node.gone ? " gone" : ` ${node.strategy}, ${node.recentRestarts}/${node.intensity} restarts in ${node.periodSeconds} s`)]
    : [el("span", {}, node.id ?? node.name ?? "child"), " ", el("span", { class: "pid" }, node.pid ?? "not running"),
       el("span", { class: "muted" }, ` ${node.behaviour ?? ""} restarts ${node.restarts}${node.mailbox ? ", mailbox " + node.mailbox : ""}`)];
  const item = el("li", {}, el("span", { class: "node" + (state.selected === node.pid ? " selected" : ""), "data-pid": node.pid, onclick: () => node.pid && select(node.pid) }, label));
  if (node.children && node.children.length) item.append(el("ul", { class: "tree" }, node.children.map(renderTree)));
  return item;
}

function managedText(managed) {
  if (!managed) return "";
  const waiting = managed.waitingSeconds != null ? `, waiting ${managed.waitingSeconds.toFixed(1)} s` : "";
  const failure = managed.failure ? `: ${managed.failure}` : "";
  return `${managed.state}${waiting}, ${managed.handOffs} hand-offs, ${managed.failedHandOffs} failed${failure}`;
}

function journalText(durable) {
  if (!durable) return "";
  const snapshot = durable.lastSnapshotSeconds != null ? `snapshot ${durable.lastSnapshotSeconds.toFixed(0)} s ago` : "no snapshot since open";
  const group = durable.groupCommit != null ? `, ${durable.groupCommit} records in the last fsync` : "";
  return `${durable.fsync}, journal ${durable.journalBytes} B, last fsync ${durable.lastFsyncSeconds.toFixed(1)} s ago, ${durable.waitingForFsync} waiting${group}, ${snapshot}`;
}

function drawChart(id, values) {
  const canvas = document.getElementById(id);
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const max = Math.max(1, ...values);
  context.strokeStyle = "#2f6fd6";
  context.beginPath();
  values.forEach((value, i) => {
    const x = values.length < 2 ? 0 : (i / (values.length - 1)) * canvas.width;
    const y = canvas.height - 4 - (value / max) * (canvas.height - 8);
    if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
  });
  context.stroke();
  context.fillStyle = "#6b7480";
  context.fillText(`max ${max.toFixed(max < 10 ? 2 : 0)}`, 4, 12);
}

function render(snapshot) {
  document.getElementById("summary").textContent =
    `node ${snapshot.node} · ${snapshot.processCount} processes · ${snapshot.tables.length} tables · updated ${new Date(snapshot.at).toLocaleTimeString()}`;
  recordMoves(snapshot.tables);
  document.getElementById("trees").replaceChildren(el("ul", { class: "tree" }, snapshot.trees.map(renderTree)));
  document.querySelector("#tables tbody").replaceChildren(...snapshot.tables.map(t => el("tr", { "data-table": t.name },
    el("td", {}, t.name), el("td", {}, t.type), el("td", {}, t.access), el("td", {}, String(t.size)), el("td", {}, String(t.memory)),
    el("td", { class: "pid owner" }, t.owner ?? "node"), el("td", { class: "pid" }, t.heir ?? ""),
    el("td", { class: t.managed ? "state-" + t.managed.state : "" }, managedText(t.managed)), el("td", {}, journalText(t.durable)))));
  document.getElementById("reports").replaceChildren(...snapshot.reports.slice().reverse().map(r =>
    el("li", { class: r.kind === "crash" ? "crash" : "" }, `${new Date(r.at).toLocaleTimeString()} ${r.kind} ${r.pid} ${r.name ?? ""} ${r.text}`)));
  drawChart("chart-restarts", snapshot.history.map(h => h.restarts));
  drawChart("chart-crashes", snapshot.history.map(h => h.crashes));
  drawChart("chart-processes", snapshot.history.map(h => h.processes));
  drawChart("chart-messages", snapshot.history.map(h => h.messages ?? 0));
  drawChart("chart-writes", snapshot.history.map(h => h.writes ?? 0));
  drawChart("chart-fsync", snapshot.history.map(h => h.fsyncMs));
  drawChart("chart-group-commit", snapshot.history.map(h => h.groupCommit));
}

async function loadProcesses() {
  const query = new URLSearchParams({ filter: state.filter, sort: state.sort, desc: state.desc });
  const answer = await (await fetch(`api/processes?${query}`)).json();
  document.getElementById("process-count").textContent =
    `${answer.matched} of ${answer.total} match (${answer.elapsedMs.toFixed(0)} ms)${answer.matched > answer.rows.length ? `, first ${answer.rows.length} shown` : ""}`;
  document.querySelector("#processes tbody").replaceChildren(...answer.rows.map(p => el("tr", { "data-pid": p.pid },
    el("td", { class: "pid" }, p.pid), el("td", {}, p.name ?? ""), el("td", {}, p.status), el("td", {}, String(p.mailbox)),
    el("td", {}, String(p.messagesIn)), el("td", {}, String(p.messagesOut)),
    el("td", {}, String(p.links)), el("td", {}, String(p.monitors)), el("td", {}, p.behaviour ?? ""), el("td", {}, p.tables ?? ""),
    el("td", {}, state.allowKill ? el("button", { class: "kill", onclick: () => kill(p.pid) }, "kill") : ""))));
}

async function kill(pid) {
  if (!confirm(`Kill ${pid}?`)) return;
  const answer = await fetch(`api/processes/kill?pid=${encodeURIComponent(pid)}`, { method: "POST" });
  if (!answer.ok && answer.status !== 404) alert(await answer.text());
  // The replacement, if any, starts after the kill: the list is loaded again with the next view pushed.
  state.listStale = true;
  loadProcesses();
}

// A kill or a report (a crash, a restart) changes the process list: it is loaded again with the view that shows them,
// not at the next poll.
function refreshProcessesAfter(snapshot) {
  const latest = snapshot.reports.length ? snapshot.reports[snapshot.reports.length - 1].at : null;
  if (state.listStale || latest !== state.latestReport) {
    state.listStale = false;
    state.latestReport = latest;
    loadProcesses();
  }
}

async function start() {
  state.allowKill = (await (await fetch("api/options")).json()).allowKill;
  const hash = new URLSearchParams(location.hash.slice(1));
  state.filter = hash.get("filter") ?? "";
  document.getElementById("filter").value = state.filter;
  let typing;
  document.getElementById("filter").addEventListener("input", event => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.filter = event.target.value; loadProcesses(); }, 150);
  });
  document.querySelectorAll("th[data-sort]").forEach(th => th.addEventListener("click", () => {
    state.desc = state.sort === th.dataset.sort ? !state.desc : false;
    state.sort = th.dataset.sort;
    loadProcesses();
  }));
  const events = new EventSource("api/events");
  events.onmessage = message => {
    const snapshot = JSON.parse(message.data);
    render(snapshot);
    refreshProcessesAfter(snapshot);
  };
  loadProcesses();
  setInterval(loadProcesses, 2000);
}

start();
