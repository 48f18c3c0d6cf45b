export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error whose message already tells the user what to do; shown without a stack. */
export class UserError extends Error {
  override name = 'UserError';
}
