import { CacheUrlError, parseCacheUrl, type CacheUrl } from '../cache/stores/cache-url.js';
import { InputError } from './inputs.js';

/** A cache URL input, parsed once; a bad one fails naming the input, with the value shown and a good one. */
export function parseCacheInput(name: string, text: string, env: NodeJS.ProcessEnv = process.env): CacheUrl {
  try {
    return parseCacheUrl(text, env);
  } catch (error) {
    if (error instanceof CacheUrlError) throw new InputError(name, error.problem, error.example);
    throw error;
  }
}
