/**
 * Errors of the HTTP API: always JSON, `{ status, error, message }`.
 * @module
 */

const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The body of every error response. */
export interface HttpErrorBody {
  /** The HTTP status, repeated so that a logged body explains itself. */
  status: number;
  /** The status's reason phrase, e.g. `Not Found`. */
  error: string;
  /** What went wrong, in a sentence that names the bad value. */
  message: string;
}

/** The JSON body of an error response. */
export function httpError(status: number, message: string): HttpErrorBody {
  return { status, error: REASONS[status] ?? "Error", message };
}

/**
 * Thrown by a route to answer with a JSON error; the app's error handler turns it into the response.
 *
 * @example
 * ```ts
 * throw new HttpError(404, `No connected client "${id}"`);
 * ```
 */
export class HttpError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 500 | 503;

  constructor(status: HttpError["status"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HttpError";
    this.status = status;
  }
}
