/**
 * The chat page served at `/`: pick a name and a room, see who is there and what was said
 * recently. It speaks JSON events with the server (`/chat/<room>?name=…&format=json`).
 *
 * @module
 */

export const CHAT_PAGE = `<!doctype html>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsdriver chat</title>
<style>
  * { box-sizing: border-box; }
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: .6em 1.2em; display: flex; gap: 1em; align-items: center; }
  header h1 { font-size: 1.1em; margin: 0; flex: 1; }
  header a { color: #9cc3ff; }
  main { display: grid; grid-template-columns: 14em 1fr; gap: 1em; padding: 1em; max-width: 60em; margin: auto; }
  aside, section { background: #fff; border-radius: 8px; padding: .8em; box-shadow: 0 1px 3px #0002; }
  aside h2 { font-size: .8em; text-transform: uppercase; color: #667; margin: .8em 0 .3em; }
  ul { list-style: none; margin: 0; padding: 0; }
  #rooms li { cursor: pointer; padding: .15em .3em; border-radius: 4px; }
  #rooms li.current { background: #e3edff; font-weight: 600; }
  #log { height: 22em; overflow: auto; border: 1px solid #dde; border-radius: 6px; padding: .5em; }
  #log .name { font-weight: 600; color: #2456c8; margin-right: .4em; }
  #log .sys { color: #889; font-style: italic; }
  #log .old { opacity: .65; }
  form { display: flex; gap: .5em; margin-top: .6em; }
  input { font: inherit; padding: .35em .5em; border: 1px solid #ccd; border-radius: 5px; }
  #text { flex: 1; }
  button { font: inherit; padding: .35em .9em; border: 0; border-radius: 5px; background: #2456c8; color: #fff; }
</style>
<header><h1>wsdriver chat</h1><span id="status">connecting…</span><a href="/dashboard">dashboard</a></header>
<main>
  <aside>
    <label>Name <input id="name" size="12"></label>
    <h2>Rooms</h2><ul id="rooms"></ul>
    <form id="roomform"><input id="newroom" placeholder="new room" size="10"><button>Go</button></form>
    <h2>Here now</h2><ul id="members"></ul>
  </aside>
  <section>
    <div id="log"></div>
    <form id="form"><input id="text" autocomplete="off" autofocus placeholder="Say something"><button id="send">Send</button></form>
  </section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const nameInput = $("name");
nameInput.value = params.get("name") || localStorage.getItem("name") || "guest" + Math.floor(Math.random() * 1000);
let room = params.get("room") || "lobby";
let ws;
function line(cls, name, text) {
  const p = document.createElement("div");
  if (cls) p.className = cls;
  if (name) { const b = document.createElement("span"); b.className = "name"; b.textContent = name; p.append(b); }
  p.append(text);
  $("log").append(p);
  $("log").scrollTop = $("log").scrollHeight;
}
function list(el, items, current) {
  el.replaceChildren(...items.map((it) => {
    const li = document.createElement("li");
    li.textContent = it.label;
    if (it.key === current) li.className = "current";
    if (it.onclick) li.onclick = it.onclick;
    return li;
  }));
}
function roomName(path) { return path === "/chat" ? "lobby" : path.replace(/^\\/chat\\//, ""); }
function join(next) {
  room = next;
  if (ws) { ws.onclose = null; ws.close(); }
  $("log").replaceChildren();
  localStorage.setItem("name", nameInput.value);
  const path = room === "lobby" ? "/chat" : "/chat/" + encodeURIComponent(room);
  const url = location.origin.replace(/^http/, "ws") + path + "?format=json&name=" + encodeURIComponent(nameInput.value);
  ws = new WebSocket(url);
  ws.onopen = () => { $("status").textContent = "connected as " + nameInput.value; };
  ws.onclose = (e) => { $("status").textContent = "closed " + e.code; line("sys", "", "* closed " + e.code); };
  ws.onmessage = (e) => {
    const ev = JSON.parse(e.data);
    if (ev.type === "welcome") {
      for (const h of ev.history) line("old", h.name, h.text);
      line("sys", "", "* joined " + roomName(ev.room) + " as " + ev.name);
      list($("members"), ev.members.map((n) => ({ label: n })));
    } else if (ev.type === "message") {
      line("", ev.name, ev.text);
    } else if (ev.type === "join" || ev.type === "leave") {
      line("sys", "", "* " + ev.name + (ev.type === "join" ? " joined" : " left"));
      list($("members"), ev.members.map((n) => ({ label: n })));
    } else if (ev.type === "rooms") {
      list($("rooms"), ev.rooms.map((r) => ({
        key: roomName(r.room), label: roomName(r.room) + " (" + r.count + ")",
        onclick: () => join(roomName(r.room)),
      })), room);
    }
  };
}
$("form").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text");
  if (text.value && ws.readyState === 1) ws.send(text.value);
  text.value = "";
};
$("roomform").onsubmit = (e) => {
  e.preventDefault();
  const r = $("newroom").value.trim();
  if (r) join(r);
  $("newroom").value = "";
};
nameInput.onchange = () => join(room);
join(room);
</script>
`;
