/** An error answered with GitHub's JSON error shape. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message ?? `HTTP ${status}`));
  }
}

export interface FieldError {
  resource: string;
  code: 'missing' | 'missing_field' | 'invalid' | 'already_exists' | 'unprocessable' | 'custom';
  field?: string;
  message?: string;
}

const docs = 'https://docs.github.com/rest';

export function errorBody(status: number, message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { message, documentation_url: docs, status: String(status), ...extra };
}

export const notFound = (): HttpError => new HttpError(404, errorBody(404, 'Not Found'));

/** 422 "Validation Failed" with field errors, as GitHub reports model validation problems. */
export const validationFailed = (...errors: FieldError[]): HttpError => new HttpError(422, errorBody(422, 'Validation Failed', { errors }));

/** 422 with a plain message (Git Data API style: "Reference already exists"). */
export const unprocessable = (message: string): HttpError => new HttpError(422, errorBody(422, message));

export const conflict = (message: string): HttpError => new HttpError(409, errorBody(409, message));

export const methodNotAllowed = (message: string): HttpError => new HttpError(405, errorBody(405, message));

export const forbidden = (message: string): HttpError => new HttpError(403, errorBody(403, message));
