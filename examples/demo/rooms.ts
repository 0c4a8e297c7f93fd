/**
 * The demo's chat rooms: who is in each, and its recent history. Members are plain-text clients
 * (the CLI, `nc`: each message is relayed as sent) or the page's clients (`?format=json`: events as
 * JSON, with names, member lists and the history on joining).
 *
 * @module
 */

import type { WS } from "../../mod.ts";

/** Lines of history a room keeps for those who join. */
const HISTORY = 50;
/** Longest name and message kept, in characters. */
const MAX_NAME = 32;
const MAX_TEXT = 2000;

/** One line said in a room. */
export interface Line {
  name: string;
  text: string;
  at: number;
}

interface Member {
  ws: WS;
  name: string;
  json: boolean;
}

interface Room {
  members: Set<Member>;
  history: Line[];
}

/** Every room of the demo, by path (`/chat`, `/chat/<room>`). */
export class Rooms {
  #rooms = new Map<string, Room>();
  #guests = 0;

  /** Members of the room at `path`. */
  size(path: string): number {
    return this.#rooms.get(path)?.members.size ?? 0;
  }

  /** Rooms with members, and how many. */
  list(): Array<{ room: string; count: number }> {
    return [...this.#rooms].map(([room, r]) => ({ room, count: r.members.size }));
  }

  /** `ws` joins the room at `path` until it closes. */
  join(ws: WS, path: string): void {
    const q = ws.request!.query;
    const json = q.get("format") === "json";
    const name = (q.get("name") ?? "").trim().slice(0, MAX_NAME) || `guest${++this.#guests}`;
    let room = this.#rooms.get(path);
    if (!room) this.#rooms.set(path, room = { members: new Set(), history: [] });
    const r = room;
    const me: Member = { ws, name, json };
    r.members.add(me);
    if (json) {
      send(ws, { type: "welcome", room: path, name, history: r.history, members: names(r) });
    }
    this.#changed(r, { type: "join", name });
    ws.on("message", (data) => {
      const text = (typeof data === "string" ? data : new TextDecoder().decode(data))
        .slice(0, MAX_TEXT);
      const line: Line = { name, text, at: Date.now() };
      r.history.push(line);
      if (r.history.length > HISTORY) r.history.shift();
      const event = JSON.stringify({ type: "message", ...line });
      for (const m of r.members) {
        if (m.ws.readyState !== "open") continue;
        // Plain-text members get what was sent as sent; a page's line carries its name.
        if (m.json) m.ws.send(event);
        else m.ws.send(json ? `${name}: ${text}` : data);
      }
    });
    ws.on("close", () => {
      r.members.delete(me);
      if (r.members.size === 0) this.#rooms.delete(path);
      this.#changed(r, { type: "leave", name });
    });
  }

  /** Tells the room's page members who is there now, and every page member the room list. */
  #changed(r: Room, event: { type: string; name: string }): void {
    const inRoom = { ...event, members: names(r) };
    const rooms = { type: "rooms", rooms: this.list() };
    for (const room of this.#rooms.values()) {
      for (const m of room.members) {
        if (!m.json) continue;
        if (room === r) send(m.ws, inRoom);
        send(m.ws, rooms);
      }
    }
  }
}

function names(r: Room): string[] {
  return [...r.members].map((m) => m.name);
}

function send(ws: WS, event: unknown): void {
  if (ws.readyState === "open") ws.send(JSON.stringify(event));
}
