export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error whose message already tells the user what to do; shown without a stack. */
export class UserError extends Error {
  override name = 'UserError';
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a parent of it is not a directory',
};

/** Why a file could not be read, in words (`no such file`), for errors that name the file. */
export function fileErrorReason(error: unknown): string {
  return FILE_ERRORS[(error as NodeJS.ErrnoException).code ?? ''] ?? errorMessage(error);
}
