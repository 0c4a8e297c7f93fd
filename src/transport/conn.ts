/**
 * The transport interface: the one thing above which wsdriver does not know what runtime it is on.
 *
 * @module
 */

/** What a {@link Conn} reports. */
export interface ConnHandlers {
  /**
   * Bytes arrived. The chunk belongs to the receiver from now on, but when `shared` is true it is
   * a view of memory that also holds other connections' bytes: whatever the receiver hands to the
   * application must be copied out of it.
   */
  data(chunk: Uint8Array, shared?: boolean): void;
  /** The peer finished sending (EOF). */
  end(): void;
  /** The connection is fully closed; nothing follows. `error` if it ended abnormally. */
  closed(error?: Error): void;
  /** Everything buffered was handed to the operating system. */
  drain(): void;
}

/** A byte stream connection (TCP or TLS). */
export interface Conn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes accepted by `write` and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /**
   * Bytes handed to the operating system so far, all writes counted: exact where the runtime
   * says how much of a write under way went out, else a lower bound (completed writes only).
   */
  readonly written: number;
  /** Installs the handlers; before this, no event is delivered. */
  setHandlers(handlers: ConnHandlers): void;
  /** Writes chunks in order; `callback` runs once they are written (or the write failed). */
  write(chunks: readonly Uint8Array[], callback?: (error?: Error) => void): void;
  /** Sends what is buffered, then EOF; the connection closes once the peer's EOF arrives. */
  end(): void;
  /**
   * Sends what is buffered, then closes without waiting for the peer's EOF: for when nothing more
   * is to be read, as once a server's closing handshake is complete (RFC 6455 §5.5.1: the server
   * closes the TCP connection immediately). Bytes the peer sends afterwards are not read.
   */
  close(): void;
  /** Closes at once, dropping anything buffered. */
  destroy(): void;
  /** Stops delivering data until `resume`. */
  pause(): void;
  resume(): void;
}

/** TLS material for a server, PEM-encoded. */
export interface ServerTls {
  /** Certificate chain, PEM. */
  cert: string;
  /** Private key, PEM. */
  key: string;
}

/** TLS options of a client. */
export interface ClientTls {
  /** Extra trusted CA certificates, PEM-encoded (e.g. a test CA). */
  ca?: string | string[];
  /** Check the server's certificate and name (default true); `false` is for testing only. */
  rejectUnauthorized?: boolean;
}

/** Where and how to listen. */
export interface ListenOptions {
  hostname: string;
  port: number;
  /** A unix domain socket to listen on instead of `hostname` and `port`. */
  path?: string;
  tls?: ServerTls;
  /** Milliseconds a TLS client has to complete the TLS handshake. */
  handshakeTimeout?: number;
  /** Let several processes listen on the same port (SO_REUSEPORT) where the runtime can. */
  reusePort?: boolean;
}

/** Where and how to connect. */
export interface ConnectOptions {
  hostname: string;
  port: number;
  /** A unix domain socket to connect to instead of `hostname` and `port`. */
  path?: string;
  tls?: ClientTls | true;
  signal?: AbortSignal;
}

/** A listening socket. */
export interface Listener {
  readonly hostname: string;
  readonly port: number;
  /** The unix domain socket listened on, if any. */
  readonly path?: string;
  /** Stops accepting; established connections stay. */
  close(): void;
}

/** A runtime's sockets. */
export interface Transport {
  readonly name: string;
  listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener>;
  connect(options: ConnectOptions): Promise<Conn>;
}
