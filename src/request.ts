/**
 * What a server keeps of an upgrade request for the life of the connection.
 *
 * @module
 */

import { HeadTemplate, headTemplate, ownCopy } from "./head_templates.ts";
import { HeaderFields, parseRequestFields, requestUrl } from "./protocol/http.ts";
import type { UpgradeRequest } from "./socket_types.ts";

const NO_PARAMS: Record<string, string> = Object.freeze({});

/** The field whose value a kept head leaves out (see `head_templates.ts`). */
const KEY_FIELD = "sec-websocket-key";

/**
 * A server-side {@link UpgradeRequest}. It keeps the request head as text and builds `headers` and
 * `query` the first time they are read: most servers never read them, and an idle connection
 * should not hold a `Headers` object. A WebSocket request's head is kept as a template shared with
 * like requests and its own key (see `head_templates.ts`).
 *
 * @example
 * ```ts
 * const req = new ServerRequest("/chat", "?room=1", "GET /chat?room=1 HTTP/1.1\r\nHost: x", "ws");
 * req.query.get("room"); // "1"
 * ```
 */
export class ServerRequest implements UpgradeRequest {
  /** Path of the request target, e.g. `/chat/lobby`. */
  readonly path: string;
  /** Parameters of the matched resource pattern. */
  params: Record<string, string> = NO_PARAMS;
  /** The query with its `?` (or `""`) until `query` is first read, then the parsed query. */
  #query: string | URLSearchParams;
  /** The head: as received or as a template (see `#key`), its parsed fields, or built Headers. */
  #head: string | HeadTemplate | HeaderFields | Headers;
  /** The Sec-WebSocket-Key that `#head`, a template, lacks. */
  #key = "";
  /** The URL's scheme while the head is kept (text or template) to rebuild it, else the URL. */
  #url: string;

  /**
   * `search`: the query with its `?`, or `""`. `head`: the request head as text (validated
   * already), or its header fields. `url`: the URL (`href`), or only its scheme when `head` is the
   * text: the URL is then rebuilt from the head if asked for, rather than kept by every socket.
   */
  constructor(path: string, search: string, head: string | HeaderFields, url: string) {
    this.path = path;
    this.#query = search;
    this.#head = head;
    this.#url = url;
  }

  /**
   * @internal A WebSocket request: its head (text, checked already, whose fields are `fields`) is
   * kept as a shared template and its Sec-WebSocket-Key `key`, and nothing kept is cut from it.
   */
  static _ofUpgrade(
    path: string,
    search: string,
    head: string,
    fields: HeaderFields,
    key: string,
    scheme: string,
  ): ServerRequest {
    const at = fields._valueStart(KEY_FIELD);
    const request = new ServerRequest(ownCopy(path), ownCopy(search), "", scheme);
    request.#head = headTemplate(head, at, at + key.length);
    request.#key = ownCopy(key);
    return request;
  }

  /** @internal The request's `ws:`/`wss:` URL. */
  _href(): string {
    const head = this.#text();
    if (head === undefined || this.#url.includes(":")) return this.#url;
    const r = parseRequestFields(head);
    return requestUrl(this.#url, r.headers.get("host"), r.target).href;
  }

  /** The head as text (a template with its key put back), unless it was parsed already. */
  #text(): string | undefined {
    const head = this.#head;
    if (typeof head === "string") return head;
    return head instanceof HeadTemplate ? head.with(this.#key) : undefined;
  }

  /** Query of the request target. */
  get query(): URLSearchParams {
    const query = this.#query;
    if (typeof query !== "string") return query;
    return this.#query = new URLSearchParams(query);
  }

  /** All request headers. */
  get headers(): Headers {
    const head = this.#head;
    if (head instanceof Headers) return head;
    let fields = head as HeaderFields;
    const text = this.#text();
    if (text !== undefined) {
      const r = parseRequestFields(text);
      fields = r.headers;
      // The text goes, and with it what the URL was to be rebuilt from: the URL is kept instead.
      this.#url = requestUrl(this.#url, fields.get("host"), r.target).href;
    }
    const headers = fields.toHeaders();
    this.#head = headers;
    this.#key = "";
    return headers;
  }
}
