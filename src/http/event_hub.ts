/**
 * Server-Sent Events for the dashboard's live updates: one `text/event-stream` response per open page, fed by
 * the rate sampler. Web-standard streams only, so every runtime serves it the same way.
 * @module
 */

/** A stream whose unsent backlog passes this many bytes belongs to a page that stopped reading: it is ended. */
const MAX_BACKLOG = 1024 * 1024;
/** Tell browsers how soon to reconnect after the stream ends (ms). */
const RETRY_MS = 2000;

const encoder = new TextEncoder();

/** One event in the SSE wire format: `event:` and one `data:` line (JSON has no raw newlines). */
export function formatEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Open event streams allowed at once unless told otherwise. */
export const DEFAULT_MAX_EVENT_STREAMS = 32;

/** The open event streams; {@link broadcast} writes to all of them. */
export class EventHub {
  #streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #closed = false;
  #max: number;

  /** `maxStreams`: open streams at once; past it a new one is refused with 503 (config `http.maxEventStreams`). */
  constructor(options: { maxStreams?: number } = {}) {
    this.#max = options.maxStreams ?? DEFAULT_MAX_EVENT_STREAMS;
  }

  /** How many pages are listening. */
  get size(): number {
    return this.#streams.size;
  }

  /**
   * A `text/event-stream` response that starts with `first` (events already formatted) and then gets every
   * broadcast until the client goes away or {@link closeAll} is called.
   */
  response(first: string[] = []): Response {
    const streams = this.#streams;
    if (streams.size >= this.#max) {
      // Each stream holds a connection and up to MAX_BACKLOG bytes: a bounded number of pages may watch.
      return new Response(`Too many live dashboard connections (http.maxEventStreams is ${this.#max})\n`, {
        status: 503,
        headers: { "content-type": "text/plain; charset=utf-8", "retry-after": String(RETRY_MS / 1000 * 5) },
      });
    }
    let self: ReadableStreamDefaultController<Uint8Array> | undefined;
    const closed = this.#closed;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        self = controller;
        controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n\n` + first.join("")));
        if (closed) controller.close();
        else streams.add(controller);
      },
      cancel() {
        if (self) streams.delete(self);
      },
    }, { highWaterMark: MAX_BACKLOG, size: (chunk) => chunk?.byteLength ?? 0 });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        // Proxies such as nginx buffer responses unless told not to, which would hold the events back.
        "x-accel-buffering": "no",
      },
    });
  }

  /** Send one event to every open stream; a stream that fell too far behind is ended instead. */
  broadcast(event: string, data: unknown): void {
    if (this.#streams.size === 0) return;
    const bytes = encoder.encode(formatEvent(event, data));
    for (const controller of this.#streams) {
      if ((controller.desiredSize ?? 0) <= 0) {
        this.#end(controller);
        continue;
      }
      try {
        controller.enqueue(bytes);
      } catch {
        this.#streams.delete(controller);
      }
    }
  }

  /** End every stream (the pages reconnect to whatever serves next), and refuse new ones. */
  closeAll(): void {
    this.#closed = true;
    for (const controller of [...this.#streams]) this.#end(controller);
  }

  #end(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#streams.delete(controller);
    try {
      controller.close();
    } catch {
      // Already closed or cancelled.
    }
  }
}
